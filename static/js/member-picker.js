// The booking form's "Book for" list, made searchable: a text box above the <select> keeps only the members
// whose name or email contains what is typed. Without JavaScript the plain <select> works as it is.
(function () {
  "use strict";
  function enhance(select) {
    var search = document.createElement("input");
    search.type = "search";
    search.className = "form-control mb-2";
    search.placeholder = "Type a name or an email";
    search.setAttribute("aria-label", "Search members");
    search.setAttribute("aria-controls", select.id);
    search.id = select.id + "_search";
    var options = Array.prototype.slice.call(select.options);
    search.addEventListener("input", function () {
      var wanted = search.value.trim().toLowerCase();
      var first = null;
      options.forEach(function (option) {
        var keep = !option.value || !wanted || option.text.toLowerCase().indexOf(wanted) !== -1;
        option.hidden = !keep;
        option.disabled = !keep;
        if (keep && option.value && first === null) first = option;
      });
      if (wanted && first && (select.selectedOptions.length === 0 || select.selectedOptions[0].hidden || !select.value)) {
        select.value = first.value;
      }
    });
    select.parentNode.insertBefore(search, select);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".member-picker select").forEach(enhance);
  });
})();
