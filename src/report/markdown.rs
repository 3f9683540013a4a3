//! Markdown sections for figures: the image, its caption and the table of measured numbers.

use crate::report::figures::Figure;

/// `figures.md` of a folder of figures (images linked by file name).
pub fn figures_markdown(figures: &[Figure]) -> String {
    figure_sections(figures, None)
}

/// One section per figure: the SVG (under `folder/` when given), the caption, and the table
/// of measured numbers when there are any.
pub fn figure_sections(figures: &[Figure], folder: Option<&str>) -> String {
    let mut md = String::new();
    for f in figures {
        let link = match folder {
            Some(dir) => format!("{dir}/{}.svg", f.stem),
            None => format!("{}.svg", f.stem),
        };
        md.push_str(&format!("![{}]({link})\n\n{}\n\n", f.stem, f.caption));
        if !f.numbers.is_empty() {
            md.push_str("| measured | value |\n|---|---|\n");
            for (k, v) in &f.numbers {
                md.push_str(&format!("| {k} | {v} |\n"));
            }
            md.push('\n');
        }
    }
    md
}
