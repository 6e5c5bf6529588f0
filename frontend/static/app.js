// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to an error summary when a form comes back with errors, so screen reader
  // and keyboard users land on the list of problems.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  });
})();
