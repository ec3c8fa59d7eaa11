// Licentia admin: the little the pages do with JavaScript (everything works without it).
// Forms marked data-autosubmit apply as soon as a choice changes (the dashboard's period).
document.addEventListener("change", function (event) {
  var form = event.target.form;
  if (form && form.hasAttribute("data-autosubmit")) {
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }
});

// A table or chart wider than a phone scrolls inside its box; a keyboard user must be able to
// reach and scroll it too, so such a box becomes focusable (and is named for screen readers).
function markScrollers() {
  document.querySelectorAll(".table-scroll, .chart-box, table.list, pre.snippet").forEach(function (box) {
    if (box.parentElement && box.parentElement.closest(".table-scroll, .chart-box")) return;
    box.classList.toggle("overflows", box.scrollWidth > box.clientWidth + 1);
    if (box.scrollWidth > box.clientWidth + 1) {
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("aria-label")) {
        var holder = box.closest("figure, section, .card");
        var title = holder && holder.querySelector("figcaption, h2, h3");
        box.setAttribute("role", "region");
        box.setAttribute("aria-label", (title ? title.textContent.trim() : document.title) + " (scrolls sideways)");
      }
    } else if (box.getAttribute("tabindex") === "0") {
      box.removeAttribute("tabindex");
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollers);
window.addEventListener("resize", markScrollers);
document.addEventListener("htmx:afterSettle", markScrollers);
