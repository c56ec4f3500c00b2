// Suggestions while typing (progressive: the search form works without this file).
(function () {
  "use strict";
  var input = document.querySelector("input[data-suggest]");
  if (!input || !window.fetch) { return; }
  var list = document.getElementById(input.getAttribute("list"));
  var region = document.getElementById("region");
  var timer = null, last = "";
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var q = input.value.trim();
      if (!q || q === last) { return; }
      last = q;
      var url = input.getAttribute("data-suggest") + "?limit=8&q=" + encodeURIComponent(q);
      if (region && region.value) { url += "&region=" + encodeURIComponent(region.value); }
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) {
          while (list.firstChild) { list.removeChild(list.firstChild); }
          (body.suggestions || []).forEach(function (s) {
            var option = document.createElement("option");
            option.value = s.text;  // text, never markup
            list.appendChild(option);
          });
        })
        .catch(function () {});
    }, 150);
  });
})();
