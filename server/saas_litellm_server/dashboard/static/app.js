// The dashboard's only script: progressive enhancement, every page works without it.
// - a button with data-copy="ID" copies the text of element ID (the new virtual key);
// - a submit button with data-confirm="question" asks before its form is sent.
"use strict";
(function () {
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "offscreen";
      document.body.appendChild(area);
      area.select();
      var ok = document.execCommand("copy");
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy refused")); }
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (button) {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copy-status");
      copyText(source.textContent.trim()).then(
        function () { if (status) { status.textContent = "Copied."; } },
        function () {
          if (status) { status.textContent = "Copy failed: select the key and copy it by hand."; }
        }
      );
      return;
    }
    var confirmed = event.target.closest("button[data-confirm]");
    if (confirmed) {
      if (!window.confirm(confirmed.getAttribute("data-confirm"))) {
        event.preventDefault();
      } else if (confirmed.form && !confirmed.form.querySelector("input[name=confirmed]")) {
        // asked here: the server need not ask again on a page of its own
        var yes = document.createElement("input");
        yes.type = "hidden"; yes.name = "confirmed"; yes.value = "yes";
        confirmed.form.appendChild(yes);
      }
    }
  });
})();
