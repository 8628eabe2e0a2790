//! The two images' Dockerfiles and the staff portal: a static site (one page, a section per
//! Register with a create form and a record table) whose JavaScript calls the API.

use crate::handlers::inputs::{Column, Register, RegistryInputs};

/// The API image: the extension package on `PYTHONPATH`, data in a volume.
pub fn api_dockerfile(inputs: &RegistryInputs) -> String {
    let package = inputs.package();
    format!(
        r#"# The {name} API: the generated extension package, stdlib Python only.
# Build context: extension/ (this Dockerfile lives outside it).
ARG BASE_IMAGE=python:3.11-slim
FROM ${{BASE_IMAGE}}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY {package}/ /app/{package}/
RUN mkdir -p /data && chown 10001:10001 /data
VOLUME ["/data"]
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=3)"]
CMD ["python3", "-m", "{package}.server"]
"#,
        name = inputs.registry_name
    )
}

pub fn portal_dockerfile(inputs: &RegistryInputs) -> String {
    format!(
        r#"# The {name} staff portal: a static site served by Python's http.server.
# config.js (window.PLAYBOOK_API_URL) is written at start from env API_URL.
ARG BASE_IMAGE=python:3.11-slim
FROM ${{BASE_IMAGE}}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080 \
    SITE_DIR=/srv/portal
WORKDIR /srv/portal
COPY site/ /srv/portal/
COPY entrypoint.py /usr/local/bin/portal-entrypoint.py
RUN chown -R 10001:10001 /srv/portal
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=5s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ.get('PORT', '8080'), timeout=3)"]
CMD ["python3", "/usr/local/bin/portal-entrypoint.py"]
"#,
        name = inputs.registry_name
    )
}

/// The default API address when `API_URL` is not set (the sandbox's published API port).
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:18080";

pub fn entrypoint_py() -> String {
    format!(
        r#""""Write config.js from env API_URL, then serve the site with http.server."""
import json
import os
import sys

site = os.environ.get("SITE_DIR", "/srv/portal")
api_url = os.environ.get("API_URL", "{DEFAULT_API_URL}").rstrip("/")
with open(os.path.join(site, "config.js"), "w", encoding="utf-8") as out:
    out.write("window.PLAYBOOK_API_URL = %s;\n" % json.dumps(api_url))
port = os.environ.get("PORT", "8080")
bind = os.environ.get("BIND", "0.0.0.0")
os.execvp(sys.executable, [sys.executable, "-m", "http.server", port, "--bind", bind, "--directory", site])
"#
    )
}

pub fn default_config_js() -> String {
    format!("window.PLAYBOOK_API_URL = \"{DEFAULT_API_URL}\";\n")
}

/// Colours and font read from the `ui_theme` prose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    pub primary: String,
    pub accent: String,
    pub background: String,
    pub font: Option<String>,
}

const DEFAULT_PRIMARY: &str = "#2b4c7e";
const DEFAULT_ACCENT: &str = "#e8a33d";
const DEFAULT_BACKGROUND: &str = "#ffffff";

const COLOUR_NAMES: &[(&str, &str)] = &[
    ("amber", "#ffbf00"),
    ("black", "#000000"),
    ("blue", "#1f4e8c"),
    ("crimson", "#dc143c"),
    ("gold", "#d4a017"),
    ("green", "#2e7d32"),
    ("grey", "#6b7280"),
    ("gray", "#6b7280"),
    ("maroon", "#800000"),
    ("navy", "#001f5b"),
    ("orange", "#f28c28"),
    ("purple", "#6a1b9a"),
    ("red", "#c62828"),
    ("teal", "#00796b"),
    ("white", "#ffffff"),
    ("yellow", "#f5c518"),
];

const KNOWN_FONTS: &[&str] = &[
    "Noto Sans",
    "Noto Serif",
    "Open Sans",
    "Source Sans Pro",
    "Source Sans 3",
    "Fira Sans",
    "IBM Plex Sans",
    "Roboto",
    "Lato",
    "Inter",
    "Montserrat",
    "Poppins",
    "Ubuntu",
    "Arial",
    "Helvetica",
    "Verdana",
    "Georgia",
];

fn hex_colours(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, _) in text.match_indices('#') {
        let run = bytes[i + 1..].iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if run == 6 || run == 3 {
            found.push((i, text[i..i + 1 + run].to_ascii_lowercase()));
        }
    }
    found
}

/// The colour written next to `word` (`amber accents`, `white background`, `background: #fff`):
/// in the same clause, the nearest one within three words before it, else within three after it.
fn colour_for(text: &str, word: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let clause = lower.split([',', ';', '.', '\n']).find(|c| c.contains(word))?;
    let tokens: Vec<&str> = clause.split(|c: char| !(c.is_ascii_alphanumeric() || c == '#')).filter(|t| !t.is_empty()).collect();
    let colour = |token: &str| -> Option<String> {
        if let Some((_, hex)) = hex_colours(token).into_iter().next().filter(|(_, h)| h.len() == token.len()) {
            return Some(hex);
        }
        COLOUR_NAMES.iter().find(|(name, _)| *name == token).map(|(_, hex)| hex.to_string())
    };
    let at = tokens.iter().position(|t| t.starts_with(word))?;
    let before = tokens[at.saturating_sub(3)..at].iter().rev().find_map(|t| colour(t));
    before.or_else(|| tokens[at + 1..(at + 4).min(tokens.len())].iter().find_map(|t| colour(t)))
}

pub fn theme(prose: Option<&str>) -> Theme {
    let text = prose.unwrap_or("");
    let hexes = hex_colours(text);
    let background = colour_for(text, "background").unwrap_or_else(|| DEFAULT_BACKGROUND.into());
    let accent = colour_for(text, "accent").or_else(|| hexes.get(1).map(|(_, h)| h.clone())).unwrap_or_else(|| DEFAULT_ACCENT.into());
    let primary = hexes
        .iter()
        .map(|(_, h)| h.clone())
        .find(|h| *h != background && *h != accent)
        .or_else(|| ["header", "primary", "main"].iter().find_map(|w| colour_for(text, w)).filter(|h| *h != background && *h != accent))
        .unwrap_or_else(|| DEFAULT_PRIMARY.into());
    let lower = text.to_ascii_lowercase();
    let font = KNOWN_FONTS.iter().find(|f| lower.contains(&f.to_ascii_lowercase())).map(|f| f.to_string()).or_else(|| named_font(text));
    Theme { primary, accent, background, font }
}

/// `… in Foo Sans font`, `typeface: Foo` — capitalised words next to a font word.
fn named_font(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let clean = |w: &str| w.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    for (i, w) in words.iter().enumerate() {
        let lw = clean(w).to_ascii_lowercase();
        if matches!(lw.as_str(), "font" | "fonts" | "typeface" | "throughout") {
            let name: Vec<String> = words[..i]
                .iter()
                .rev()
                .map(|w| clean(w))
                .take_while(|w| w.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
                .collect();
            if !name.is_empty() {
                return Some(name.into_iter().rev().collect::<Vec<_>>().join(" "));
            }
        }
    }
    None
}

pub fn theme_css(theme: &Theme) -> String {
    // Font names are only letters, digits and spaces by construction; quote them anyway.
    let font = theme
        .font
        .as_deref()
        .map(|f| f.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').collect::<String>())
        .filter(|f| !f.trim().is_empty())
        .map_or(String::new(), |f| format!("\"{f}\", "));
    format!(
        r#"/* Generated from ui_theme. */
:root {{
  --primary: {primary};
  --accent: {accent};
  --background: {background};
  --text: #1a1a1a;
  --font: {font}system-ui, -apple-system, "Segoe UI", sans-serif;
}}
* {{ box-sizing: border-box; }}
body {{ margin: 0; font-family: var(--font); background: var(--background); color: var(--text); }}
header {{ display: flex; align-items: center; gap: 1rem; padding: 0.75rem 1.5rem; background: var(--primary); color: #fff; }}
header img {{ height: 48px; width: 48px; object-fit: contain; background: #fff; border-radius: 4px; }}
header h1 {{ font-size: 1.4rem; margin: 0; }}
nav {{ padding: 0.5rem 1.5rem; border-bottom: 1px solid #ddd; }}
nav a {{ margin-right: 1rem; color: var(--primary); }}
main {{ padding: 1rem 1.5rem; }}
section.register {{ margin-bottom: 2.5rem; }}
section.register h2 {{ color: var(--primary); border-bottom: 3px solid var(--accent); padding-bottom: 0.25rem; }}
form.create {{ display: grid; grid-template-columns: max-content minmax(12rem, 24rem); gap: 0.4rem 1rem; align-items: center; margin-bottom: 1rem; }}
form.create button {{ grid-column: 2; justify-self: start; background: var(--primary); color: #fff; border: 0; padding: 0.45rem 1rem; border-radius: 4px; cursor: pointer; }}
.status {{ min-height: 1.2em; }}
.status.error {{ color: #a40000; border-left: 4px solid var(--accent); padding-left: 0.5rem; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border: 1px solid #ddd; padding: 0.3rem 0.5rem; text-align: left; }}
th {{ background: var(--primary); color: #fff; }}
footer {{ padding: 1rem 1.5rem; color: #666; font-size: 0.85rem; }}
"#,
        primary = theme.primary,
        accent = theme.accent,
        background = theme.background,
    )
}

pub fn escape_html(text: &str) -> String {
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

/// The form input for a column: its HTML type and the value kind the JavaScript sends.
pub fn input_kind(sql_type: &str) -> (&'static str, &'static str) {
    let t = sql_type.trim().to_ascii_lowercase();
    let base = t.split(['(', ' ']).next().unwrap_or("");
    match base {
        "int" | "integer" | "smallint" | "bigint" | "serial" | "bigserial" | "int2" | "int4" | "int8" => ("number", "integer"),
        "numeric" | "decimal" | "real" | "float" | "float4" | "float8" | "double" => ("number", "number"),
        "bool" | "boolean" => ("checkbox", "boolean"),
        "date" => ("date", "text"),
        "timestamp" | "timestamptz" | "datetime" => ("datetime-local", "text"),
        "time" => ("time", "text"),
        _ => ("text", "text"),
    }
}

/// `varchar(200)` → 200.
pub fn max_length(sql_type: &str) -> Option<u32> {
    let t = sql_type.to_ascii_lowercase();
    if !(t.starts_with("varchar") || t.starts_with("char") || t.starts_with("character")) {
        return None;
    }
    let inner = t.split_once('(')?.1.split_once(')')?.0;
    inner.trim().parse().ok()
}

fn required(column: &Column) -> bool {
    !column.nullable && column.default.is_null()
}

fn field(register: &Register, column: &Column) -> String {
    let seg = escape_html(register.path_segment());
    let name = escape_html(&column.name);
    let (html_type, kind) = input_kind(&column.sql_type);
    let mut attrs = format!(r#"type="{html_type}" id="{seg}-{name}" name="{name}" data-kind="{kind}" data-testid="input-{seg}-{name}""#);
    if kind == "integer" {
        attrs.push_str(r#" step="1""#);
    } else if kind == "number" {
        attrs.push_str(r#" step="any""#);
    }
    if let Some(n) = max_length(&column.sql_type) {
        attrs.push_str(&format!(r#" maxlength="{n}""#));
    }
    if required(column) && html_type != "checkbox" {
        attrs.push_str(" required");
    }
    let hint = if required(column) { "" } else { " <small>(optional)</small>" };
    format!("          <label for=\"{seg}-{name}\">{name}{hint}</label>\n          <input {attrs}>\n")
}

fn section(register: &Register) -> String {
    let seg = escape_html(register.path_segment());
    let title = escape_html(&register.name);
    let kind = if register.supporting { "supporting table" } else { "register" };
    let mut headers = vec!["id".to_string()];
    if register.id_pattern.is_some() {
        headers.push("functional_id".into());
    }
    headers.extend(register.columns.iter().map(|c| c.name.clone()));
    let columns_attr = escape_html(&serde_json::to_string(&headers).unwrap_or_else(|_| "[]".into()));
    let ths: String = headers.iter().map(|h| format!("<th>{}</th>", escape_html(h))).collect();
    let fields: String = register.columns.iter().map(|c| field(register, c)).collect();
    format!(
        r#"    <section class="register" id="register-{seg}" data-testid="register-{seg}" data-path="{seg}" data-columns="{columns_attr}">
      <h2 data-testid="title-{seg}">{title}</h2>
      <p class="kind">{kind} · <code>/api/{seg}</code></p>
      <form class="create" id="form-{seg}" data-testid="form-{seg}" novalidate>
{fields}          <button type="submit" data-testid="submit-{seg}">Create</button>
      </form>
      <p class="status" role="status" data-testid="status-{seg}"></p>
      <table data-testid="table-{seg}">
        <thead><tr>{ths}</tr></thead>
        <tbody data-testid="rows-{seg}"></tbody>
      </table>
    </section>
"#
    )
}

pub fn index_html(inputs: &RegistryInputs, small_logo: &str, medium_logo: &str) -> String {
    let title = escape_html(&inputs.registry_name);
    let nav: String = inputs
        .registers
        .iter()
        .map(|r| {
            let seg = escape_html(r.path_segment());
            format!(r##"<a href="#register-{seg}" data-testid="nav-{seg}">{}</a>"##, escape_html(&r.name))
        })
        .collect();
    let sections: String = inputs.registers.iter().map(section).collect();
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} — staff portal</title>
  <link rel="icon" href="{small_logo}">
  <link rel="stylesheet" href="theme.css">
  <script src="config.js"></script>
  <script src="app.js" defer></script>
</head>
<body>
  <header>
    <img src="{small_logo}" alt="" data-testid="logo-small">
    <h1 data-testid="portal-title">{title}</h1>
  </header>
  <nav data-testid="register-nav">{nav}</nav>
  <main>
{sections}  </main>
  <footer><img src="{medium_logo}" alt="" height="32" data-testid="logo-medium"> {title} · staff portal</footer>
</body>
</html>
"#
    )
}

/// The page's behaviour: list each Register's records, create from each form.
pub const APP_JS: &str = r##"// Staff portal: lists and creates records through the registry API.
(function () {
  "use strict";
  var base = (window.PLAYBOOK_API_URL === undefined ? "http://127.0.0.1:18080" : String(window.PLAYBOOK_API_URL)).replace(/\/+$/, "");

  function api(path, options) {
    return fetch(base + path, options).then(function (response) {
      return response.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = { errors: [text] }; }
        return { status: response.status, body: body };
      });
    });
  }

  function cell(value) {
    var td = document.createElement("td");
    td.textContent = value === null || value === undefined ? "" : String(value);
    return td;
  }

  function load(section) {
    var seg = section.getAttribute("data-path");
    var columns = JSON.parse(section.getAttribute("data-columns"));
    var rows = section.querySelector("tbody");
    return api("/api/" + encodeURIComponent(seg)).then(function (result) {
      if (result.status !== 200) { throw new Error("listing failed: HTTP " + result.status); }
      rows.textContent = "";
      (result.body.items || []).forEach(function (item) {
        var tr = document.createElement("tr");
        tr.setAttribute("data-testid", "row-" + seg + "-" + item.id);
        columns.forEach(function (c) { tr.appendChild(cell(item[c])); });
        rows.appendChild(tr);
      });
      section.setAttribute("data-loaded", "true");
    }).catch(function (error) { status(section, "Cannot list records: " + error.message, true); });
  }

  function status(section, message, isError) {
    var p = section.querySelector(".status");
    p.textContent = message;
    p.className = isError ? "status error" : "status";
  }

  function body(form) {
    var out = {};
    Array.prototype.forEach.call(form.querySelectorAll("input"), function (input) {
      var kind = input.getAttribute("data-kind");
      if (kind === "boolean") { out[input.name] = input.checked; return; }
      if (input.value === "") { return; }
      if (kind === "integer") { out[input.name] = parseInt(input.value, 10); }
      else if (kind === "number") { out[input.name] = parseFloat(input.value); }
      else { out[input.name] = input.value; }
    });
    return out;
  }

  function create(section, form, event) {
    event.preventDefault();
    var seg = section.getAttribute("data-path");
    status(section, "Saving…", false);
    api("/api/" + encodeURIComponent(seg), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body(form))
    }).then(function (result) {
      if (result.status === 201) {
        var record = result.body;
        status(section, "Created " + (record.functional_id || ("#" + record.id)), false);
        form.reset();
        return load(section);
      }
      var errors = (result.body && result.body.errors) || ["HTTP " + result.status];
      status(section, "Not saved: " + errors.join("; "), true);
    }).catch(function (error) { status(section, "Not saved: " + error.message, true); });
  }

  document.querySelectorAll("section.register").forEach(function (section) {
    var form = section.querySelector("form");
    form.addEventListener("submit", function (event) { create(section, form, event); });
    load(section);
  });
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_theme_prose_gives_its_colours_and_font() {
        let t = theme(Some("Deep blue (#1f5f8b) headers on a white background, Noto Sans throughout, amber accents for warnings."));
        assert_eq!(
            t,
            Theme { primary: "#1f5f8b".into(), accent: "#ffbf00".into(), background: "#ffffff".into(), font: Some("Noto Sans".into()) }
        );
        let d = theme(None);
        assert_eq!((d.primary.as_str(), d.font), (DEFAULT_PRIMARY, None));
        let other = theme(Some("Primary #AABBCC, accent #123, set in Gill Sans font."));
        assert_eq!((other.primary.as_str(), other.accent.as_str(), other.font.as_deref()), ("#aabbcc", "#123", Some("Gill Sans")));
    }

    #[test]
    fn sql_types_map_to_inputs() {
        assert_eq!(input_kind("varchar(200)"), ("text", "text"));
        assert_eq!(input_kind("INTEGER"), ("number", "integer"));
        assert_eq!(input_kind("numeric(10,2)"), ("number", "number"));
        assert_eq!(input_kind("date"), ("date", "text"));
        assert_eq!(max_length("varchar(12)"), Some(12));
        assert_eq!(max_length("text"), None);
        assert_eq!(escape_html("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }
}
