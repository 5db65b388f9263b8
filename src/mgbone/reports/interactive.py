"""What the report page does in the browser: one small inlined script (no library, no network).

Tables with class `sortable` sort on a click on a column header (again: reverse; numbers as numbers,
a cell's `data-sort` overrides its text). A `<form data-filters="TABLE_ID">` filters that table's rows:
each `<select name=KEY>` keeps the rows whose `data-KEY` attribute (values separated by `|`) holds the
chosen value, and an `<input type=search>` keeps the rows whose text contains it; the form's
`<output>` says how many rows are shown."""

TABLE_SCRIPT = r"""
(function () {
  function key(cell) {
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent.trim();
    var number = Number(text);
    return text !== "" && !isNaN(number) ? number : text.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === typeof b) { return a < b ? -1 : a > b ? 1 : 0; }
    return typeof a === "number" ? -1 : 1;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      th.setAttribute("aria-sort", "none");
      th.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var order = compare(key(a.cells[column]), key(b.cells[column]));
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll("form[data-filters]").forEach(function (form) {
    var table = document.getElementById(form.getAttribute("data-filters"));
    var output = form.querySelector("output");
    function apply() {
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var keep = true;
        form.querySelectorAll("select").forEach(function (select) {
          var values = (row.getAttribute("data-" + select.name) || "").split("|");
          if (select.value && values.indexOf(select.value) < 0) { keep = false; }
        });
        form.querySelectorAll("input[type=search]").forEach(function (input) {
          var text = input.value.trim().toLowerCase();
          if (text && row.textContent.toLowerCase().indexOf(text) < 0) { keep = false; }
        });
        row.hidden = !keep;
        shown += keep ? 1 : 0;
      });
      if (output) { output.textContent = shown + " of " + table.tBodies[0].rows.length + " studies shown"; }
    }
    form.addEventListener("input", apply);
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
  });
})();
"""
