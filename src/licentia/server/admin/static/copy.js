// Copy buttons for keys, tokens and public keys. Without JavaScript the buttons stay hidden and the
// text is selectable with one click (user-select: all).
(function () {
  function copied(button, text) {
    button.textContent = text;
    setTimeout(function () { button.textContent = "Copy"; }, 2000);
  }
  function fallback(node) {
    var range = document.createRange();
    range.selectNodeContents(node);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand && document.execCommand("copy");
  }
  function ready() {
    document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
      var node = document.querySelector(button.getAttribute("data-copy"));
      if (!node) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        var text = node.textContent.trim();
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(
            function () { copied(button, "Copied"); },
            function () { copied(button, fallback(node) ? "Copied" : "Select and copy"); }
          );
        } else {
          copied(button, fallback(node) ? "Copied" : "Select and copy");
        }
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
