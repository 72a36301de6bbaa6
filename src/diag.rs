//! Diagnostics: what went wrong, where, and what to do about it.
//!
//! Front ends and checks produce [`Diagnostic`] values with byte spans; this
//! module turns them into line/column positions and renders code frames (via
//! miette) only at the edge, in the command line.

use crate::syntax::Span;
use serde::Serialize;

/// How serious a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: something ruleq does not evaluate, for example.
    Note,
    /// Suspicious but accepted by Elastic.
    Warning,
    /// Rejected by Elastic (or certain to misbehave).
    Error,
}

/// One finding about a query or rule, located by a byte span.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Severity of the finding.
    pub severity: Severity,
    /// Stable machine-readable code, e.g. `eql::syntax`.
    pub code: &'static str,
    /// The cause, in plain words.
    pub message: String,
    /// Where in the source the problem is.
    pub span: Span,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with the given code, message and span.
    pub fn error(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
        }
    }

    /// A warning with the given code, message and span.
    pub fn warning(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// A note with the given code, message and span.
    pub fn note(code: &'static str, message: impl Into<String>, span: Span) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message, span)
        }
    }

    /// Adds a hint.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds a label shown at the caret.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// Moves the span by `offset` bytes (a query inside a rule file).
    pub fn shifted(mut self, offset: usize) -> Self {
        self.span = self.span.shift(offset);
        self
    }

    /// Renders the diagnostic as a code frame: `name:line:col`, the source
    /// line, a caret under the span, the label and the hint.
    pub fn render(&self, name: &str, source: &str, color: bool) -> String {
        use miette::{GraphicalReportHandler, GraphicalTheme, NamedSource};
        if let Some(framed) = self.render_long_line(name, source) {
            return framed;
        }
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let report = Report {
            diag: self,
            src: NamedSource::new(name, source.to_string()),
        };
        let mut out = String::new();
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_links(false);
        if handler.render_report(&mut out, &report).is_err() {
            let (line, col) = line_col(source, self.span.start);
            out = format!("{name}:{line}:{col}: {}\n", self.message);
        }
        out
    }
}

/// Lines longer than this (in bytes) are shown as an excerpt around the
/// span: the graphical renderer lays out whole lines, and panics on a
/// column past 65,535.
const LONG_LINE: usize = 1000;

/// Characters of a long line shown on each side of the span.
const EXCERPT: usize = 60;

impl Diagnostic {
    /// The code frame of a diagnostic on a line longer than [`LONG_LINE`]:
    /// `name:line:col`, an excerpt of the line with `…` where it is cut, a
    /// caret under the span, the label and the hint. `None` for a shorter
    /// line.
    fn render_long_line(&self, name: &str, source: &str) -> Option<String> {
        let mut start = self.span.start.min(source.len());
        while !source.is_char_boundary(start) {
            start -= 1;
        }
        let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = source[start..]
            .find('\n')
            .map_or(source.len(), |i| start + i);
        if line_end - line_start <= LONG_LINE {
            return None;
        }
        let (line, col) = line_col(source, start);
        let before: Vec<char> = source[line_start..start].chars().collect();
        let after: Vec<char> = source[start..line_end].chars().collect();
        let mut end = self.span.end.clamp(start, line_end);
        while !source.is_char_boundary(end) {
            end -= 1;
        }
        let width = source[start..end].chars().count().max(1);
        let shown_before = before.len().min(EXCERPT);
        let cut_before = shown_before < before.len();
        let shown_after = after.len().min(width + EXCERPT);
        let mut excerpt: String = if cut_before {
            "…".into()
        } else {
            String::new()
        };
        excerpt.extend(&before[before.len() - shown_before..]);
        excerpt.extend(&after[..shown_after]);
        if shown_after < after.len() {
            excerpt.push('…');
        }
        let pad = shown_before + usize::from(cut_before);
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        let mut out = format!(
            "{kind}[{}]: {}\n  --> {name}:{line}:{col}\n",
            self.code, self.message
        );
        out.push_str(&format!("   | {excerpt}\n"));
        out.push_str(&format!(
            "   | {}{}",
            " ".repeat(pad),
            "^".repeat(width.min(EXCERPT))
        ));
        if let Some(label) = &self.label {
            out.push_str(&format!(" {label}"));
        }
        out.push('\n');
        if let Some(help) = &self.help {
            out.push_str(&format!("  help: {help}\n"));
        }
        Some(out)
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// 1-based line and column (in characters) of byte `offset` in `text`.
/// Offsets past the end or inside a character are clamped.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

struct Report<'a> {
    diag: &'a Diagnostic,
    src: miette::NamedSource<String>,
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.diag.fmt(f)
    }
}

impl std::fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.diag.message)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        Some(Box::new(self.diag.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diag.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn std::fmt::Display + 'b>> {
        self.diag
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.src)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let span = self.diag.span;
        let len = span.end.saturating_sub(span.start);
        let label = miette::LabeledSpan::new(self.diag.label.clone(), span.start, len);
        Some(Box::new(std::iter::once(label)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let text = "ab\ncé d";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(text, 6), (2, 3));
        assert_eq!(line_col(text, 100), (2, 5));
    }

    #[test]
    fn a_span_on_a_long_line_is_framed_as_an_excerpt_whatever_its_bytes() {
        let line = format!("{}é{}", "a".repeat(2000), "b".repeat(2000));
        let at = 2000;
        // Spans that start or end inside `é` (two bytes) are clamped.
        for (start, end) in [
            (at, at + 2),
            (at + 1, at + 2),
            (at, at + 1),
            (at + 1, 9999),
            (9999, 99999),
        ] {
            let d = Diagnostic::error("test::long", "here", Span::new(start, end));
            let out = d.render("q", &line, false);
            assert!(out.contains("q:1:"), "{out}");
            assert!(out.contains('^'), "{out}");
        }
    }
}
