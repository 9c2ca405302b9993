//! The HTML renderer: one self-contained file (inline CSS, SVG and a little JS, nothing
//! fetched), readable without JS except for the complete table, which JS pages and filters
//! from the JSON embedded in the file.

use std::fmt::Write;

use super::model::{Hop, Lane, MarkKind, Marker, Outcome, RunModel};

const CSS: &str = include_str!("report.css");
const JS: &str = include_str!("report.js");

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The element id of an event's lane: `ev-` and the id with anything but `[A-Za-z0-9._-]`
/// as `_`.
pub fn lane_anchor(id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("ev-{safe}")
}

/// JSON safe inside a `<script>` element (no `</` can close it).
fn script_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace("</", "<\\/")
}

/// `1.23 ms`, `4.5 s`, `17 µs`.
pub fn duration(us: u64) -> String {
    if us >= 10_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else if us >= 1_000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

fn hop_name(hop: Hop) -> &'static str {
    match hop {
        Hop::Ingest => "ingest",
        Hop::Kinesis => "kinesis",
        Hop::Forward => "forward",
        Hop::Queue => "queue",
        Hop::Receive => "receive",
        Hop::Store => "store",
        Hop::Dlq => "dlq",
        Hop::Other => "other",
    }
}

fn kind_name(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Ok => "ok",
        MarkKind::Failed => "failed",
        MarkKind::Fault => "fault",
        MarkKind::Stored => "stored",
        MarkKind::Duplicate => "duplicate",
        MarkKind::Conflict => "conflict",
        MarkKind::Dlq => "dlq",
    }
}

/// The whole report as one HTML document.
pub fn render(model: &RunModel) -> String {
    let mut out = String::with_capacity(64 * 1024 + model.events.len() * 80);
    let title = escape(&model.title);
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\">\
         <title>{title}</title><style>{CSS}</style></head><body>\n"
    );
    header(&mut out, model);
    steps(&mut out, model);
    timeline(&mut out, model);
    faults(&mut out, model);
    counts(&mut out, model);
    latency(&mut out, model);
    table(&mut out, model);
    let _ = write!(out, "<script>{JS}</script>\n</body></html>\n");
    out
}

fn header(out: &mut String, m: &RunModel) {
    let (class, word) = match m.passed {
        Some(true) => ("pass", "PASS"),
        Some(false) => ("fail", "FAIL"),
        None => ("none", "RUN"),
    };
    let _ = write!(
        out,
        "<header><h1>{}</h1><p class=\"desc\">{}</p>\
         <p id=\"verdict\" class=\"verdict {class}\"><b>{word}</b> {}</p>\
         <p class=\"clock\">Times are {} from the start of the run; the run spans {}.</p>",
        escape(&m.title),
        escape(&m.description),
        escape(&m.verdict),
        escape(&m.clock),
        duration(m.duration_us)
    );
    for line in &m.summary {
        let _ = write!(out, "<p class=\"summary\">{}</p>", escape(line));
    }
    for note in &m.notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", escape(note));
    }
    out.push_str(
        "<nav><a href=\"#steps\">steps</a> <a href=\"#timeline\">timeline</a> \
         <a href=\"#faults\">faults</a> <a href=\"#counts\">counts</a> \
         <a href=\"#latency\">latency</a> <a href=\"#events\">every event</a></nav></header>\n",
    );
}

fn steps(out: &mut String, m: &RunModel) {
    out.push_str("<section id=\"steps\"><h2>Steps</h2>");
    if m.steps.is_empty() {
        out.push_str("<p>No steps.</p></section>\n");
        return;
    }
    out.push_str(
        "<table class=\"steps\"><thead><tr><th>#</th><th>step</th><th>at</th><th>what happened</th></tr></thead><tbody>",
    );
    for s in &m.steps {
        let failed = s.checks.iter().any(|c| !c.ok);
        let _ = write!(
            out,
            "<tr class=\"step{}\" data-kind=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}",
            if failed { " failed" } else { "" },
            escape(&s.kind),
            s.index,
            escape(&s.kind),
            duration(s.at_us),
            escape(&s.summary)
        );
        if !s.checks.is_empty() {
            out.push_str("<ul class=\"checks\">");
            for c in &s.checks {
                let _ = write!(
                    out,
                    "<li class=\"check {}\">{} {} = {}",
                    if c.ok { "ok" } else { "fail" },
                    if c.ok { "✓" } else { "✗" },
                    escape(&c.what),
                    c.actual
                );
                if !c.ok {
                    let _ = write!(out, ", expected {}", c.expected);
                    if let Some(d) = &c.detail {
                        let _ = write!(out, "; {}", escape(d));
                    }
                }
                if !c.events.is_empty() {
                    out.push_str(" <span class=\"concerns\">events:");
                    for id in &c.events {
                        let _ = write!(out, " <a href=\"#{}\">{}</a>", lane_anchor(id), escape(id));
                    }
                    out.push_str("</span>");
                }
                out.push_str("</li>");
            }
            out.push_str("</ul>");
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>\n");
}

fn counts(out: &mut String, m: &RunModel) {
    out.push_str("<section id=\"counts\"><h2>Counts per hop</h2><table class=\"counts\"><tbody>");
    let max = m.counts.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    for (name, n) in &m.counts {
        let width = (*n as f64 / max as f64 * 300.0).round();
        let _ = write!(
            out,
            "<tr><th>{}</th><td class=\"n\">{n}</td><td><svg width=\"300\" height=\"12\" \
             aria-hidden=\"true\"><rect width=\"{width}\" height=\"12\" class=\"bar\"/></svg></td></tr>",
            escape(name)
        );
    }
    out.push_str("</tbody></table><h3>Events by outcome</h3><ul class=\"outcomes\">");
    for (outcome, n) in &m.outcomes {
        let _ = write!(
            out,
            "<li class=\"o-{}\"><b>{n}</b> {}</li>",
            outcome.name(),
            outcome.title()
        );
    }
    out.push_str("</ul>");
    if !m.errors.is_empty() {
        out.push_str("<h3>Error answers</h3><ul class=\"errors\">");
        for (what, n) in &m.errors {
            let _ = write!(out, "<li>{} ×{n}</li>", escape(what));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>\n");
}

fn latency(out: &mut String, m: &RunModel) {
    let l = &m.latency;
    out.push_str("<section id=\"latency\"><h2>PUT accepted → item stored</h2>");
    if l.count == 0 {
        out.push_str("<p>No event was seen both accepted and stored.</p></section>\n");
        return;
    }
    let _ = write!(
        out,
        "<p class=\"percentiles\">{} events: p50 {}, p90 {}, p99 {}, max {}</p>",
        l.count,
        duration(l.p50_us),
        duration(l.p90_us),
        duration(l.p99_us),
        duration(l.max_us)
    );
    let (w, h, pad) = (720.0, 160.0, 24.0);
    let max = l
        .histogram
        .iter()
        .map(|b| b.count)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let bw = (w - 2.0 * pad) / l.histogram.len().max(1) as f64;
    let _ = write!(
        out,
        "<svg id=\"histogram\" class=\"histogram\" viewBox=\"0 0 {w} {}\" width=\"{w}\" \
         role=\"img\" aria-label=\"histogram of PUT to stored latency\">",
        h + 30.0
    );
    for (i, b) in l.histogram.iter().enumerate() {
        let bh = b.count as f64 / max * h;
        let x = pad + i as f64 * bw;
        let _ = write!(
            out,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" class=\"bar\">\
             <title>{} – {}: {} events</title></rect>",
            h - bh,
            (bw - 1.0).max(1.0),
            duration(b.lo_us),
            duration(b.hi_us),
            b.count
        );
    }
    if let (Some(first), Some(last)) = (l.histogram.first(), l.histogram.last()) {
        let _ = write!(
            out,
            "<text x=\"{pad}\" y=\"{}\" class=\"axis\">{}</text>\
             <text x=\"{}\" y=\"{}\" class=\"axis\" text-anchor=\"end\">{}</text>",
            h + 16.0,
            duration(first.lo_us),
            w - pad,
            h + 16.0,
            duration(last.hi_us)
        );
    }
    out.push_str(
        "</svg><p class=\"hint\">Log-spaced buckets; hover a bar for its range.</p></section>\n",
    );
}

fn faults(out: &mut String, m: &RunModel) {
    out.push_str("<section id=\"faults\"><h2>Faults that fired</h2>");
    if m.faults.is_empty() {
        out.push_str("<p>None.</p></section>\n");
        return;
    }
    out.push_str(
        "<table class=\"faults\"><thead><tr><th>rule</th><th>action</th><th>on</th><th>fired</th><th>events</th></tr></thead><tbody>",
    );
    for f in &m.faults {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>",
            escape(&f.rule),
            escape(&f.action),
            escape(&f.target),
            f.fired
        );
        for id in &f.events {
            let _ = write!(out, "<a href=\"#{}\">{}</a> ", lane_anchor(id), escape(id));
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>\n");
}

const LANE_W: f64 = 1000.0;
const LANE_PAD: f64 = 8.0;

fn x_of(at_us: u64, span: u64) -> f64 {
    LANE_PAD + at_us as f64 / span.max(1) as f64 * (LANE_W - 2.0 * LANE_PAD)
}

fn timeline(out: &mut String, m: &RunModel) {
    out.push_str(
        "<section id=\"timeline\"><h2>Timeline, one lane per event</h2>\
         <p class=\"legend\"><span class=\"k-ok\">●</span> call or step \
         <span class=\"k-failed\">●</span> failed call \
         <span class=\"k-fault\">▲</span> fault rule fired \
         <span class=\"k-stored\">■</span> stored \
         <span class=\"k-duplicate\">■</span> duplicate \
         <span class=\"k-conflict\">■</span> conflict \
         <span class=\"k-dlq\">◆</span> DLQ; dashed lines: crashes, restarts, replays, \
         redrives, fault rules installed or cleared. Open a lane for its every step.</p>",
    );
    let span = m.duration_us.max(1);
    // The axis with the markers, once above the lanes.
    let _ = write!(
        out,
        "<svg class=\"axis\" viewBox=\"0 0 {LANE_W} 34\" preserveAspectRatio=\"none\">\
         <line x1=\"{LANE_PAD}\" x2=\"{}\" y1=\"30\" y2=\"30\" class=\"axis\"/>\
         <text x=\"{LANE_PAD}\" y=\"12\" class=\"axis\">0</text>\
         <text x=\"{}\" y=\"12\" class=\"axis\" text-anchor=\"end\">{}</text>",
        LANE_W - LANE_PAD,
        LANE_W - LANE_PAD,
        duration(span)
    );
    let mut markers: Vec<&Marker> = m.markers.iter().collect();
    markers.sort_by_key(|mk| mk.at_us);
    for mk in &markers {
        let x = x_of(mk.at_us, span);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"16\" y2=\"34\" class=\"marker m-{}\">\
             <title>{} at {}</title></line>",
            escape(&mk.kind),
            escape(&mk.label),
            duration(mk.at_us)
        );
    }
    out.push_str("</svg>");
    if !markers.is_empty() {
        out.push_str("<ul class=\"markers\">");
        for mk in markers.iter().take(LISTED_MARKERS) {
            let _ = write!(
                out,
                "<li class=\"m-{}\">{} {}</li>",
                escape(&mk.kind),
                duration(mk.at_us),
                escape(&mk.label)
            );
        }
        if markers.len() > LISTED_MARKERS {
            let _ = write!(
                out,
                "<li>and {} more (on the axis above)</li>",
                markers.len() - LISTED_MARKERS
            );
        }
        out.push_str("</ul>");
    }
    // Lanes that went wrong open, in a run small enough to read them all.
    let open = m.lanes.len() <= 12;
    // Beyond this, a lane's step list is filled by JS from its marks' titles when opened.
    let listed = m.lanes.len() <= LISTED_LANES;
    let mut current: Option<Outcome> = None;
    for lane in &m.lanes {
        if current != Some(lane.outcome) {
            if current.is_some() {
                out.push_str("</div>");
            }
            current = Some(lane.outcome);
            let total = m.outcomes.get(&lane.outcome).copied().unwrap_or(0);
            let drawn = m.lanes.iter().filter(|l| l.outcome == lane.outcome).count();
            let _ = write!(
                out,
                "<div class=\"group o-{}\" data-outcome=\"{}\"><h3>{} — {total} event(s){}</h3>",
                lane.outcome.name(),
                lane.outcome.name(),
                lane.outcome.title(),
                if drawn < total {
                    format!(", {drawn} drawn")
                } else {
                    String::new()
                }
            );
        }
        let open = open && lane.outcome != Outcome::Stored;
        lane_html(out, lane, m, span, open, listed);
    }
    if current.is_some() {
        out.push_str("</div>");
    }
    out.push_str("</section>\n");
}

/// Lanes whose step lists are written out in the file (the DOM text tests read).
const LISTED_LANES: usize = 40;
/// Markers listed under the axis and drawn across every lane; beyond, on the axis only.
const LISTED_MARKERS: usize = 40;

fn lane_html(out: &mut String, lane: &Lane, m: &RunModel, span: u64, open: bool, listed: bool) {
    let _ = write!(
        out,
        "<div class=\"lane\" id=\"{}\" data-id=\"{}\" data-outcome=\"{}\">\
         <div class=\"lane-id\">{}</div><svg class=\"lane-svg\" viewBox=\"0 0 {LANE_W} 22\" \
         preserveAspectRatio=\"none\">",
        lane_anchor(&lane.id),
        escape(&lane.id),
        lane.outcome.name(),
        escape(&lane.id)
    );
    // Across every lane only while they are few (a soak crashes consumers hundreds of times).
    for mk in m
        .markers
        .iter()
        .filter(|_| m.markers.len() <= LISTED_MARKERS)
    {
        let x = x_of(mk.at_us, span);
        let _ = write!(
            out,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"22\" class=\"marker m-{}\"/>",
            escape(&mk.kind)
        );
    }
    if let (Some(first), Some(last)) = (lane.marks.first(), lane.marks.last()) {
        let _ = write!(
            out,
            "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"11\" y2=\"11\" class=\"journey\"/>",
            x_of(first.at_us, span),
            x_of(last.at_us, span)
        );
    }
    for mk in &lane.marks {
        let x = x_of(mk.at_us, span);
        let kind = kind_name(mk.kind);
        let title = format!("{} {}: {}", duration(mk.at_us), hop_name(mk.hop), mk.label);
        let shape = match mk.kind {
            MarkKind::Fault => format!(
                "<path d=\"M{x:.1} 3 L{:.1} 17 L{:.1} 17 Z\"",
                x - 6.0,
                x + 6.0
            ),
            MarkKind::Stored | MarkKind::Duplicate | MarkKind::Conflict => {
                format!(
                    "<rect x=\"{:.1}\" y=\"5\" width=\"12\" height=\"12\"",
                    x - 6.0
                )
            }
            MarkKind::Dlq => format!(
                "<path d=\"M{x:.1} 2 L{:.1} 11 L{x:.1} 20 L{:.1} 11 Z\"",
                x + 7.0,
                x - 7.0
            ),
            MarkKind::Ok | MarkKind::Failed => {
                format!("<circle cx=\"{x:.1}\" cy=\"11\" r=\"4\"")
            }
        };
        let _ = write!(
            out,
            "{shape} class=\"k-{kind}\"><title>{}</title></{}>",
            escape(&title),
            match mk.kind {
                MarkKind::Fault | MarkKind::Dlq => "path",
                MarkKind::Stored | MarkKind::Duplicate | MarkKind::Conflict => "rect",
                MarkKind::Ok | MarkKind::Failed => "circle",
            }
        );
    }
    let _ = write!(
        out,
        "</svg><details{}><summary>{} steps</summary><ol class=\"marks\">",
        if open { " open" } else { "" },
        lane.marks.len()
    );
    for mk in lane.marks.iter().filter(|_| listed) {
        let _ = write!(
            out,
            "<li class=\"mark k-{}\" data-hop=\"{}\" data-kind=\"{}\"><span class=\"t\">{}</span> \
             <span class=\"hop\">{}</span> {}</li>",
            kind_name(mk.kind),
            hop_name(mk.hop),
            kind_name(mk.kind),
            duration(mk.at_us),
            hop_name(mk.hop),
            escape(&mk.label)
        );
    }
    out.push_str("</ol></details></div>");
}

fn table(out: &mut String, m: &RunModel) {
    let _ = write!(
        out,
        "<section id=\"events\"><h2>Every event ({})</h2>\
         <p><input id=\"filter\" type=\"search\" placeholder=\"filter by id, outcome or shard\"> \
         <span id=\"shown\"></span> <button id=\"prev\">◀</button> <button id=\"next\">▶</button></p>\
         <noscript><p>The complete table needs JavaScript; the lanes above do not.</p></noscript>\
         <table id=\"event-table\"><thead><tr><th>id</th><th>outcome</th><th>shard</th>\
         <th>first seen</th><th>last seen</th><th>queue sends</th><th>PutItems</th><th>faults</th>\
         </tr></thead><tbody></tbody></table>",
        m.events.len()
    );
    // Compact: the ids' common prefix once, shards and outcomes by index, then per event
    // [id suffix, outcome, shard, first µs, last µs, queue sends, PutItems, faults].
    let prefix = common_prefix(m.events.iter().map(|e| e.id.as_str()));
    let mut shards: Vec<&str> = m.events.iter().map(|e| e.shard.as_str()).collect();
    shards.sort_unstable();
    shards.dedup();
    let outcomes = [
        Outcome::Dlq,
        Outcome::Conflict,
        Outcome::Unfinished,
        Outcome::Redriven,
        Outcome::Duplicate,
        Outcome::Retried,
        Outcome::Stored,
    ];
    let rows: Vec<serde_json::Value> = m
        .events
        .iter()
        .map(|e| {
            serde_json::json!([
                &e.id[prefix.len()..],
                outcomes.iter().position(|o| *o == e.outcome).unwrap_or(0),
                shards.binary_search(&e.shard.as_str()).unwrap_or(0),
                e.first_us,
                e.last_us,
                e.forward_attempts,
                e.store_attempts,
                e.faults
            ])
        })
        .collect();
    let data = serde_json::json!({
        "prefix": prefix,
        "shards": shards,
        "outcomes": outcomes.iter().map(|o| o.name()).collect::<Vec<_>>(),
        "rows": rows,
    });
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"event-data\">{}</script></section>",
        script_json(&data)
    );
}

/// The longest prefix every id shares, cut at a char boundary.
fn common_prefix<'a>(mut ids: impl Iterator<Item = &'a str>) -> &'a str {
    let Some(first) = ids.next() else {
        return "";
    };
    let mut len = first.len();
    for id in ids {
        len = first
            .bytes()
            .zip(id.bytes())
            .take(len)
            .take_while(|(a, b)| a == b)
            .count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(lane_anchor("e 3/<x>"), "ev-e_3__x_");
        assert_eq!(script_json(&"</script>"), "\"<\\/script>\"");
        assert_eq!(
            common_prefix(["load-7-1", "load-7-12"].into_iter()),
            "load-7-1"
        );
        assert_eq!(common_prefix(["é1", "é2"].into_iter()), "é");
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration(17), "17 µs");
        assert_eq!(duration(1_234), "1.23 ms");
        assert_eq!(duration(4_500_000), "4.50 s");
        assert_eq!(duration(45_000_000), "45.0 s");
    }
}
