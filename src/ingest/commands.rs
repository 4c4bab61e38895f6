//! Commands staff put in their mail replies: a line `#close` closes the
//! ticket, `#internal` keeps the reply as an internal note. Only lines
//! above the quoted history count, and they are removed from the stored
//! text. Commands are honoured only from verified staff (see
//! [`crate::ingest`]).

/// Commands found in a reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Commands {
    /// `#close`
    pub close: bool,
    /// `#internal`
    pub internal: bool,
}

/// Finds commands in the new (unquoted) part of `text`; returns them and
/// the text with the command lines removed.
pub fn extract(text: &str) -> (Commands, String) {
    let mut commands = Commands::default();
    let mut kept = Vec::new();
    let mut in_quote = false;
    for line in text.lines() {
        in_quote = in_quote || starts_quote(line);
        match (in_quote, line.trim().to_ascii_lowercase().as_str()) {
            (false, "#close") => commands.close = true,
            (false, "#internal") => commands.internal = true,
            _ => kept.push(line),
        }
    }
    (commands, kept.join("\n").trim().to_string())
}

fn starts_quote(line: &str) -> bool {
    let trimmed = line.trim();
    trimmed.starts_with('>')
        || (trimmed.starts_with("On ") && trimmed.ends_with("wrote:"))
        || trimmed.starts_with("-----Original Message-----")
        || trimmed.starts_with("________________________________")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_commands_above_the_quote_only() {
        let text = "Fixed now.\n#close\n\nOn Mon, Ann wrote:\n> #internal\n> old text";
        let (cmds, rest) = extract(text);
        assert_eq!(
            cmds,
            Commands {
                close: true,
                internal: false
            }
        );
        assert_eq!(
            rest,
            "Fixed now.\n\nOn Mon, Ann wrote:\n> #internal\n> old text"
        );
    }

    #[test]
    fn commands_are_case_insensitive_whole_lines() {
        let (cmds, rest) = extract("  #INTERNAL  \nnote the #close in text");
        assert_eq!(
            cmds,
            Commands {
                close: false,
                internal: true
            }
        );
        assert_eq!(rest, "note the #close in text");
    }

    #[test]
    fn no_commands_leaves_text_alone() {
        let (cmds, rest) = extract("hello\nworld");
        assert_eq!(cmds, Commands::default());
        assert_eq!(rest, "hello\nworld");
    }
}
