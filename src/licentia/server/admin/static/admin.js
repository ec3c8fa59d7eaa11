// Licentia admin: the little the pages do with JavaScript (everything works without it).
// Forms marked data-autosubmit apply as soon as a choice changes (the dashboard's period).
document.addEventListener("change", function (event) {
  var form = event.target.form;
  if (form && form.hasAttribute("data-autosubmit")) {
    form.requestSubmit ? form.requestSubmit() : form.submit();
  }
});
