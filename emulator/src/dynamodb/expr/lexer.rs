//! Tokens of DynamoDB's expression language (condition, filter, key condition, update and
//! projection expressions share one lexical grammar).

use super::ExprError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: an attribute name, a keyword (AND, SET, ...) or a function name.
    Ident(String),
    /// `#name`, looked up in ExpressionAttributeNames.
    Name(String),
    /// `:value`, looked up in ExpressionAttributeValues.
    Value(String),
    /// A list index inside `[...]`.
    Int(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Eof,
}

/// A token with the byte span it came from (for "near" in syntax errors).
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

impl Token {
    pub fn text<'a>(&self, source: &'a str) -> &'a str {
        if self.tok == Tok::Eof {
            "<EOF>"
        } else {
            &source[self.start..self.end]
        }
    }
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

pub fn tokenize(source: &str) -> Result<Vec<Token>, ExprError> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let take_word = |chars: &mut std::iter::Peekable<std::str::CharIndices>| {
            let mut end = start + c.len_utf8();
            chars.next();
            while let Some(&(i, c)) = chars.peek() {
                if !is_word(c) {
                    break;
                }
                end = i + c.len_utf8();
                chars.next();
            }
            end
        };
        let (tok, end) = match c {
            '#' | ':' => {
                let end = take_word(&mut chars);
                if end == start + 1 {
                    return Err(syntax(source, &tokens, start, end));
                }
                let text = source[start..end].to_owned();
                (
                    if c == '#' {
                        Tok::Name(text)
                    } else {
                        Tok::Value(text)
                    },
                    end,
                )
            }
            c if c.is_ascii_digit() => {
                let end = take_word(&mut chars);
                let text = &source[start..end];
                if !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(syntax(source, &tokens, start, end));
                }
                (Tok::Int(text.to_owned()), end)
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = take_word(&mut chars);
                (Tok::Ident(source[start..end].to_owned()), end)
            }
            _ => {
                chars.next();
                let two = |chars: &mut std::iter::Peekable<std::str::CharIndices>, next: char| {
                    if chars.peek().map(|&(_, c)| c) == Some(next) {
                        chars.next();
                        true
                    } else {
                        false
                    }
                };
                let tok = match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    ',' => Tok::Comma,
                    '.' => Tok::Dot,
                    '+' => Tok::Plus,
                    '-' => Tok::Minus,
                    '=' => Tok::Eq,
                    '<' if two(&mut chars, '>') => Tok::Ne,
                    '<' if two(&mut chars, '=') => Tok::Le,
                    '<' => Tok::Lt,
                    '>' if two(&mut chars, '=') => Tok::Ge,
                    '>' => Tok::Gt,
                    _ => return Err(syntax(source, &tokens, start, start + c.len_utf8())),
                };
                let end = chars.peek().map(|&(i, _)| i).unwrap_or(source.len());
                (tok, end)
            }
        };
        tokens.push(Token { tok, start, end });
    }
    tokens.push(Token {
        tok: Tok::Eof,
        start: source.len(),
        end: source.len(),
    });
    Ok(tokens)
}

/// A syntax error at `source[start..end]`; "near" starts at the previous token, as AWS's does.
fn syntax(source: &str, tokens: &[Token], start: usize, end: usize) -> ExprError {
    let from = tokens.last().map_or(start, |t| t.start);
    ExprError::Syntax {
        token: source[start..end].to_owned(),
        near: source[from..end].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn lexes_operators_names_and_values() {
        assert_eq!(
            toks("#a.b[10] <> :v AND c<=:w"),
            vec![
                Tok::Name("#a".into()),
                Tok::Dot,
                Tok::Ident("b".into()),
                Tok::LBracket,
                Tok::Int("10".into()),
                Tok::RBracket,
                Tok::Ne,
                Tok::Value(":v".into()),
                Tok::Ident("AND".into()),
                Tok::Ident("c".into()),
                Tok::Le,
                Tok::Value(":w".into()),
                Tok::Eof,
            ]
        );
        assert_eq!(toks("a>=b")[1], Tok::Ge);
        assert_eq!(toks("a - b")[1], Tok::Minus);
    }

    #[test]
    fn rejects_stray_characters() {
        assert!(matches!(tokenize("a = @b"), Err(ExprError::Syntax { token, .. }) if token == "@"));
        assert!(tokenize("a = :").is_err());
        assert!(tokenize("a[1x]").is_err());
    }
}
