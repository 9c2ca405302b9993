// The complete table: every event from the embedded JSON, filtered and paged (100 rows);
// and the step list of a lane not written out in the file, filled from its marks' titles.
(function () {
  var d = JSON.parse(document.getElementById("event-data").textContent);
  var data = d.rows.map(function (r) {
    return [d.prefix + r[0], d.outcomes[r[1]], d.shards[r[2]], r[3], r[4], r[5], r[6], r[7]];
  });
  var body = document.querySelector("#event-table tbody");
  var filter = document.getElementById("filter");
  var shown = document.getElementById("shown");
  var page = 0, size = 100, rows = data;
  function us(v) { return v >= 1e6 ? (v / 1e6).toFixed(2) + " s" : v >= 1e3 ? (v / 1e3).toFixed(2) + " ms" : v + " µs"; }
  function draw() {
    var from = page * size, part = rows.slice(from, from + size);
    body.textContent = "";
    part.forEach(function (r) {
      var tr = document.createElement("tr");
      tr.className = "row o-" + r[1];
      var cells = [r[0], r[1], r[2], us(r[3]), us(r[4]), r[5], r[6], r[7]];
      cells.forEach(function (c, i) {
        var td = document.createElement("td");
        var lane = i === 0 && document.getElementById("ev-" + String(r[0]).replace(/[^A-Za-z0-9._-]/g, "_"));
        if (lane) { var a = document.createElement("a"); a.href = "#" + lane.id; a.textContent = c; td.appendChild(a); }
        else td.textContent = c;
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    shown.textContent = rows.length ? (from + 1) + "–" + (from + part.length) + " of " + rows.length : "no event matches";
  }
  filter.addEventListener("input", function () {
    var q = filter.value.trim().toLowerCase();
    rows = q ? data.filter(function (r) { return (r[0] + " " + r[1] + " " + r[2]).toLowerCase().indexOf(q) >= 0; }) : data;
    page = 0; draw();
  });
  document.getElementById("prev").onclick = function () { if (page > 0) { page--; draw(); } };
  document.getElementById("next").onclick = function () { if ((page + 1) * size < rows.length) { page++; draw(); } };
  draw();
  document.querySelectorAll(".lane details").forEach(function (det) {
    det.addEventListener("toggle", function () {
      var ol = det.querySelector("ol");
      if (!det.open || ol.children.length) return;
      det.parentNode.querySelectorAll(".lane-svg title").forEach(function (t) {
        var li = document.createElement("li");
        li.className = "mark " + t.parentNode.getAttribute("class");
        li.textContent = t.textContent;
        ol.appendChild(li);
      });
    });
  });
})();
