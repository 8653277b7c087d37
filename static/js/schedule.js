// The schedule's booking from the grid: a click (or Enter) on a free cell, or a drag across free cells of one
// space, fills the inline form instead of following the cell's link; htmx posts it and swaps the schedule,
// showing a clash in place. Without this file every free cell is still a link to the booking form.
(function () {
  "use strict";

  var drag = null; // {row, first, last} while the mouse button is down on a free cell

  function freeCell(element) {
    var cell = element && element.closest ? element.closest("td.cell-free[data-start]") : null;
    return cell && cell.closest("#schedule") ? cell : null;
  }

  function cellsOf(row) {
    return Array.prototype.slice.call(row.querySelectorAll("td.cell"));
  }

  // The cells from `a` to `b` (either order) when every one is free and selectable, else null.
  function stretch(row, a, b) {
    var cells = cellsOf(row);
    var i = cells.indexOf(a), j = cells.indexOf(b);
    if (i < 0 || j < 0) return null;
    var run = cells.slice(Math.min(i, j), Math.max(i, j) + 1);
    return run.every(function (cell) { return cell.matches("td.cell-free[data-start]"); }) ? run : null;
  }

  function clearSelection() {
    document.querySelectorAll("#schedule .is-selected").forEach(function (cell) {
      cell.classList.remove("is-selected");
    });
  }

  function openForm(holder, start, end) {
    var panel = document.getElementById("schedule-book");
    if (!panel) return;
    var form = panel.querySelector("form");
    form.elements.space.value = holder.dataset.space;
    form.elements.start.value = start;
    form.elements.end.value = end;
    panel.querySelector("[data-schedule-space-name]").textContent = holder.dataset.spaceName;
    var errors = panel.querySelector(".alert-danger");
    if (errors) errors.remove();
    panel.hidden = false;
    panel.scrollIntoView({ block: "nearest" });
    form.elements.start.focus();
  }

  function endOf(link, fallback) {
    // The link's end already allows for the space's minimum length.
    var end = link ? new URL(link.href, window.location.href).searchParams.get("end") : null;
    return end || fallback;
  }

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-schedule-close]")) {
      document.getElementById("schedule-book").hidden = true;
      clearSelection();
      return;
    }
    var link = event.target.closest("#schedule a.free-cell, #schedule a.slot-chip");
    if (!link) return;
    event.preventDefault();
    var holder = link.closest("[data-space]");
    var source = link.closest("[data-start]");
    clearSelection();
    if (source.matches("td")) source.classList.add("is-selected");
    openForm(holder, source.dataset.start, endOf(link, source.dataset.end));
  });

  document.addEventListener("mousedown", function (event) {
    var cell = freeCell(event.target);
    if (!cell || event.button !== 0) return;
    event.preventDefault(); // no text selection or link drag while choosing times
    drag = { row: cell.closest("tr"), first: cell, last: cell };
    clearSelection();
    cell.classList.add("is-selected");
  });

  document.addEventListener("mouseover", function (event) {
    if (!drag) return;
    var cell = freeCell(event.target);
    if (!cell || cell.closest("tr") !== drag.row) return;
    var run = stretch(drag.row, drag.first, cell);
    if (!run) return;
    drag.last = cell;
    clearSelection();
    run.forEach(function (item) { item.classList.add("is-selected"); });
  });

  document.addEventListener("mouseup", function () {
    if (!drag) return;
    var run = stretch(drag.row, drag.first, drag.last);
    var current = drag;
    drag = null;
    // A plain click: the click handler opens the form. After a drag the click lands on the row, not a link.
    if (!run || run.length < 2) return;
    var first = run[0], last = run[run.length - 1];
    openForm(current.row, first.dataset.start, last.dataset.end);
  });

  // A refused booking (400: a clash, a rule) comes back as the schedule with the form's errors: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status === 400 && event.detail.target && event.detail.target.id === "schedule") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
