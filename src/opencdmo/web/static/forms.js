// Forms: a <select data-filter-by="ID"> offers only the options of the <optgroup> whose label is the value
// chosen in the select with that id (the new-order form: the programs of the sponsor chosen). Without this
// script every option stays, and the server refuses a program of another sponsor beside the field.
"use strict";

(function () {
  function filter(select, by) {
    var chosen = by.value;
    var groups = select.getElementsByTagName("optgroup");
    for (var i = 0; i < groups.length; i++) {
      var group = groups[i];
      var shown = !chosen || group.label === chosen;
      group.hidden = !shown;
      group.disabled = !shown;
    }
    var selected = select.options[select.selectedIndex];
    if (selected && selected.parentNode.tagName === "OPTGROUP" && selected.parentNode.disabled) {
      select.value = "";
    }
  }

  var selects = document.querySelectorAll("select[data-filter-by]");
  for (var i = 0; i < selects.length; i++) {
    (function (select) {
      var by = document.getElementById(select.getAttribute("data-filter-by"));
      if (!by) {
        return;
      }
      by.addEventListener("change", function () {
        filter(select, by);
      });
      filter(select, by);
    })(selects[i]);
  }
})();
