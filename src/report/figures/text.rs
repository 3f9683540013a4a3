//! Figure text with sub- and superscripts and accents.
//!
//! plotters draws a string glyph after glyph without shaping: in a PNG a combining accent lands
//! on the next character (`μ̂(r)` reads "μ(̂r)"), and `_` and `^` are printed as they are. The
//! titles, axis titles and legend labels of the figures are written instead in a small TeX-like
//! notation that [`draw_text`] draws:
//!
//! - `a_b`, `a_{b c}`, `a_(b c)`: a subscript — a run of letters, digits and `*`, or a group,
//!   drawn without its braces or parentheses; `a^b`, `a^{…}`, `a^(…)`: a superscript;
//! - a combining accent (U+0300–U+036F; `μ̂` is `μ\u{302}`) on the letter before it;
//! - everything else as it is (a `_` or `^` followed by none of the above, too).
//!
//! In a PNG each piece is placed with the metrics of the embedded DejaVu Sans (an accent drawn
//! on its own, centred over its letter and raised over a capital). In an SVG the text stays one
//! `<text>` element whose scripts become `<tspan>`s ([`svg_scripts`]), so that the viewer's font
//! lays it out and shapes its accents.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;

/// Font size of a sub- or superscript, relative to the text it sits in.
const SCRIPT: f64 = 0.72;
/// How far a subscript's baseline drops below the text's, in units of the text's size.
const SUB_DROP: f64 = 0.22;
/// How far a superscript's baseline rises above the text's, in units of the text's size.
const SUP_RISE: f64 = 0.38;
/// Marks, in the text plotters writes into an SVG, a text that [`svg_scripts`] rewrites (a
/// private-use character, never in a label).
const SVG_MARK: char = '\u{E000}';
/// plotters' SVG `font-size` is its font size divided by this.
const SVG_EM: f64 = 1.24;

/// A parsed piece of text.
#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// A character and the combining accents on it.
    Char(char, Vec<char>),
    /// A subscript (`false`) or superscript (`true`).
    Script(bool, Vec<Token>),
}

fn is_accent(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

fn in_run(c: char) -> bool {
    c.is_alphanumeric() || c == '*'
}

/// Parses up to the end of `chars` or the closing `close`.
fn parse(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, close: Option<char>) -> Vec<Token> {
    let mut out: Vec<Token> = vec![];
    let accent = |out: &mut Vec<Token>, a: char| match out.last_mut() {
        Some(Token::Char(_, accents)) => accents.push(a),
        _ => out.push(Token::Char(a, vec![])),
    };
    while let Some(c) = chars.next() {
        if Some(c) == close {
            break;
        }
        if is_accent(c) {
            accent(&mut out, c);
            continue;
        }
        let sup = c == '^';
        if c != '_' && !sup {
            out.push(Token::Char(c, vec![]));
            continue;
        }
        match chars.peek().copied() {
            Some(open @ ('{' | '(')) => {
                chars.next();
                let close = if open == '{' { '}' } else { ')' };
                out.push(Token::Script(sup, parse(chars, Some(close))));
            }
            Some(n) if in_run(n) => {
                let mut run = vec![];
                while let Some(&n) = chars.peek() {
                    if in_run(n) {
                        run.push(Token::Char(n, vec![]));
                    } else if is_accent(n) {
                        accent(&mut run, n);
                    } else {
                        break;
                    }
                    chars.next();
                }
                out.push(Token::Script(sup, run));
            }
            _ => out.push(Token::Char(c, vec![])),
        }
    }
    out
}

fn tokens(text: &str) -> Vec<Token> {
    parse(&mut text.chars().peekable(), None)
}

/// `text` as it reads with its scripts written inline and its braces dropped: `λ_min(K)` →
/// `λmin(K)`, `m^(−1/2)` → `m−1/2` (for tests and for measuring).
pub fn plain(text: &str) -> String {
    fn walk(ts: &[Token], out: &mut String) {
        for t in ts {
            match t {
                Token::Char(c, accents) => {
                    out.push(*c);
                    out.extend(accents);
                }
                Token::Script(_, inner) => walk(inner, out),
            }
        }
    }
    let mut out = String::new();
    walk(&tokens(text), &mut out);
    out
}

/// One string drawn at one size: `x` along the baseline from the start of the text and `rise`
/// the lift of its baseline above the text's, both in pixels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Piece {
    pub text: String,
    pub size: f64,
    pub x: f64,
    pub rise: f64,
}

/// A text laid out in pieces, and its width in pixels.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Laid {
    pub pieces: Vec<Piece>,
    pub width: f64,
}

/// Lays out `text` at font size `size` for a PNG; `measure(s, size)` is the advance of `s`.
pub(crate) fn layout(text: &str, size: f64, measure: &dyn Fn(&str, f64) -> f64) -> Laid {
    let mut pieces = vec![];
    let width = place(&tokens(text), size, 0.0, 0.0, measure, &mut pieces);
    Laid { pieces, width }
}

/// Places `tokens` at `size` from `x` on a baseline lifted by `rise`; returns where it ends.
fn place(
    tokens: &[Token],
    size: f64,
    x: f64,
    rise: f64,
    measure: &dyn Fn(&str, f64) -> f64,
    pieces: &mut Vec<Piece>,
) -> f64 {
    let (mut run, mut run_x, mut end) = (String::new(), x, x);
    let flush = |run: &mut String, run_x: f64, pieces: &mut Vec<Piece>| {
        if !run.is_empty() {
            let text = std::mem::take(run);
            pieces.push(Piece {
                text,
                size,
                x: run_x,
                rise,
            });
        }
    };
    for t in tokens {
        match t {
            Token::Char(c, accents) => {
                let before = measure(&run, size);
                run.push(*c);
                let after = measure(&run, size);
                end = run_x + after;
                // An accent's ink is about 0.24 of the size wide and starts a pixel right of
                // where plotters draws it (it ignores side bearings): centre it on the letter.
                // DejaVu's accents sit over the x-height: lift them over a capital, a digit or
                // a tall letter.
                let centre = run_x + (before + after) / 2.0;
                let tall = c.is_uppercase() || c.is_ascii_digit() || "bdfhklδλ∂".contains(*c);
                let lift = if tall { 0.2 * size } else { 0.0 };
                for (k, a) in accents.iter().enumerate() {
                    pieces.push(Piece {
                        text: a.to_string(),
                        size,
                        x: centre - 0.12 * size - 1.0,
                        rise: rise + lift + 0.2 * size * k as f64,
                    });
                }
            }
            Token::Script(sup, inner) => {
                flush(&mut run, run_x, pieces);
                let shift = if *sup { SUP_RISE } else { -SUB_DROP } * size;
                end = place(inner, size * SCRIPT, end, rise + shift, measure, pieces) + 0.04 * size;
                run_x = end;
            }
        }
    }
    flush(&mut run, run_x, pieces);
    end
}

/// Appends `c`, escaped for SVG text.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '&' => out.push_str("&amp;"),
        _ => out.push(c),
    }
}

/// Appends `tokens` as SVG text content: a script as a `<tspan>` that shifts the baseline
/// (`dy`) and shrinks the font, the text after it in a `<tspan>` that shifts it back (a `dy`
/// applies to the characters of its element: an empty element would not shift anything).
/// Returns the shift back still owed at the end, in `em` of this text.
fn svg_content(tokens: &[Token], out: &mut String) -> f64 {
    let (mut owed, mut open) = (0.0f64, false);
    for t in tokens {
        match t {
            Token::Char(c, accents) => {
                if owed != 0.0 {
                    if open {
                        out.push_str("</tspan>");
                    }
                    out.push_str(&format!("<tspan dy=\"{owed:.3}em\">"));
                    (owed, open) = (0.0, true);
                }
                push_escaped(out, *c);
                accents.iter().for_each(|a| push_escaped(out, *a));
            }
            Token::Script(sup, inner) => {
                if open {
                    out.push_str("</tspan>");
                    open = false;
                }
                // In em of this text; the script's own em is SCRIPT of it.
                let shift = if *sup { -SUP_RISE } else { SUB_DROP } * SVG_EM;
                out.push_str(&format!(
                    "<tspan dy=\"{:.3}em\" font-size=\"{:.0}%\">",
                    (owed + shift) / SCRIPT,
                    SCRIPT * 100.0
                ));
                let inner_owed = svg_content(inner, out);
                out.push_str("</tspan>");
                owed = inner_owed * SCRIPT - shift;
            }
        }
    }
    if open {
        out.push_str("</tspan>");
    }
    owed
}

/// Rewrites the texts [`draw_text`] put into `svg` (marked, escaped by plotters) into SVG
/// text content with `<tspan>` scripts.
pub(crate) fn svg_scripts(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len() + svg.len() / 8);
    let mut rest = svg;
    while let Some(at) = rest.find(SVG_MARK) {
        out.push_str(&rest[..at]);
        let after = &rest[at + SVG_MARK.len_utf8()..];
        let end = after.find('<').unwrap_or(after.len());
        let text = after[..end]
            .trim_end_matches('\n')
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&");
        svg_content(&tokens(&text), &mut out);
        out.push('\n');
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Where a text sits relative to its anchor point: the anchor is at the top of the line, at
/// the start of the text or at its middle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    Middle,
}

/// Which file a text is drawn into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Svg,
    Png,
}

/// The advance of `s` at `size` in the embedded font, pixels.
fn measure_on<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, s: &str, size: f64) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let style = TextStyle::from(("sans-serif", size).into_font());
    area.estimate_text_size(s, &style)
        .map_or(0.6 * size * s.chars().count() as f64, |(w, _)| w as f64)
}

/// The width of `text` (the notation of the module docs) at `size`, pixels.
pub(crate) fn text_width<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: f64,
) -> f64 {
    layout(text, size, &|s, z| measure_on(area, s, z)).width
}

/// Draws `text` (the notation of the module docs) at `at` in `area`: horizontal, or
/// `vertical`, read from bottom to top (an axis title, `at` then on its left edge).
#[allow(clippy::too_many_arguments)]
pub(crate) fn draw_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    at: (i32, i32),
    size: f64,
    color: &RGBColor,
    anchor: Anchor,
    vertical: bool,
    target: Target,
) -> Result<(), String> {
    let font = |size: f64| {
        let font = ("sans-serif", size).into_font();
        if vertical {
            font.transform(FontTransform::Rotate270)
        } else {
            font
        }
    };
    if target == Target::Svg {
        let h = match anchor {
            Anchor::Start => HPos::Left,
            Anchor::Middle => HPos::Center,
        };
        let style = font(size).color(color).pos(Pos::new(h, VPos::Top));
        return area
            .draw(&Text::new(format!("{SVG_MARK}{text}"), at, style))
            .map_err(|e| e.to_string());
    }
    let laid = layout(text, size, &|s, z| measure_on(area, s, z));
    let start = match anchor {
        Anchor::Start => 0.0,
        Anchor::Middle => -laid.width / 2.0,
    };
    for p in &laid.pieces {
        // In the text's own frame (x along it, y down), the piece's top-left corner: plotters
        // puts a text's baseline half its size below the top.
        let along = (start + p.x).round() as i32;
        let down = (size / 2.0 - p.rise - p.size / 2.0).round() as i32;
        let pos = if vertical {
            (at.0 + down, at.1 - along)
        } else {
            (at.0 + along, at.1 + down)
        };
        area.draw(&Text::new(p.text.clone(), pos, font(p.size).color(color)))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every character 10 px wide at size 10.
    fn mono(s: &str, size: f64) -> f64 {
        s.chars().count() as f64 * size
    }

    #[test]
    fn scripts_and_accents_parse_into_pieces() {
        let laid = layout("λ_min(K) R_c μ̂^t m^(−1/2) a_ b^", 10.0, &mono);
        let texts: Vec<(&str, bool)> = laid
            .pieces
            .iter()
            .map(|p| (p.text.as_str(), p.rise > 0.0))
            .collect();
        assert_eq!(
            texts,
            [
                ("λ", false),
                ("min", false),
                ("(K) R", false),
                ("c", false),
                ("\u{302}", false),
                (" μ", false),
                ("t", true),
                (" m", false),
                ("−1/2", true),
                (" a_ b^", false),
            ]
        );
        let sub = &laid.pieces[1];
        assert!(
            sub.size < 10.0 && sub.rise < 0.0 && sub.x == 10.0,
            "{sub:?}"
        );
        assert_eq!(
            plain("λ_min(K) ‖K‖_F F_{lin,t} m^(−1/2)"),
            "λmin(K) ‖K‖F Flin,t m−1/2"
        );
    }

    #[test]
    fn svg_texts_get_tspans_and_keep_their_accents() {
        let svg = format!("<text x=\"1\">\n{SVG_MARK}R_c &lt; μ̂^t\n</text>");
        let out = svg_scripts(&svg);
        assert!(out.starts_with("<text x=\"1\">\nR<tspan dy="), "{out}");
        assert!(
            out.contains(">c</tspan><tspan dy=\"-0.273em\"> &lt; μ\u{302}</tspan>"),
            "{out}"
        );
        assert!(
            out.ends_with("</tspan>\n</text>") && !out.contains(SVG_MARK),
            "{out}"
        );
        let plain_svg = "<text>\nx_1\n</text>";
        assert_eq!(svg_scripts(plain_svg), plain_svg);
    }
}
