// Follow-up questions shown only when an option that reveals them is chosen, and the
// checklist's print button. Without this file every question is shown and the print
// button is the browser's own print command.
(function () {
  "use strict";
  var form = document.querySelector(".situations form");
  if (form) {
    var update = function () {
      var shown = {};
      form.querySelectorAll("input[data-reveals]").forEach(function (input) {
        if (input.checked) {
          input.getAttribute("data-reveals").split(" ").forEach(function (q) { shown[q] = true; });
        }
      });
      form.querySelectorAll("fieldset.follow-up").forEach(function (fieldset) {
        var visible = !!shown[fieldset.getAttribute("data-question")];
        fieldset.hidden = !visible;
        fieldset.querySelectorAll("input").forEach(function (input) {
          input.disabled = !visible;  // a hidden answer is not sent
        });
      });
    };
    form.addEventListener("change", update);
    update();
  }
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      event.preventDefault();
      window.print();
    });
  });
})();
