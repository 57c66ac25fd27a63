// A select marked data-autosubmit sends its form when changed (no inline handlers: the CSP forbids them).
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("select[data-autosubmit]"), function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
}());

// The "Open now" panel refreshes every 15 seconds without reloading the page.
(function () {
  "use strict";
  var list = document.getElementById("live");
  if (!list) { return; }
  function show(data) {
    list.textContent = "";
    if (!data.open.length) {
      var none = document.createElement("li");
      none.textContent = "No open incidents.";
      list.appendChild(none);
      return;
    }
    data.open.forEach(function (i) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = "/ui/incidents/" + i.number;
      a.textContent = i.ref;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" " + i.severity + " · " + i.status + " · " + i.age + " · " + i.title));
      list.appendChild(li);
    });
  }
  function poll() {
    fetch(list.getAttribute("data-source"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () { /* offline: try again at the next tick */ });
  }
  poll();
  setInterval(poll, 15000);
}());
