//! The issue search language: `is:unresolved`, `key:value` and `!key:value` tag filters (values
//! may be quoted), and free text matched against title and culprit.

use crate::store::TagFilter;

/// `assigned:me`, `assigned:<email>`, `is:assigned`, `is:unassigned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    Me,
    Email(String),
    Anybody,
    Nobody,
}

/// A parsed search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    pub status: Option<String>,
    pub assigned: Option<Assigned>,
    pub tags: Vec<TagFilter>,
    pub text: Vec<String>,
}

const STATUSES: &[&str] = &["unresolved", "resolved", "ignored"];

/// Parses a search; the error names the offending token.
pub fn parse(query: &str) -> Result<Search, String> {
    let mut search = Search::default();
    for token in tokenize(query)? {
        let (negate, body) = match token.raw.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, token.raw.as_str()),
        };
        let Some((key, value)) = split_key(body) else {
            if negate {
                return Err(format!("{:?}: negation needs a key:value filter", token.raw));
            }
            search.text.push(unquote(&token.raw)?);
            continue;
        };
        let value = unquote(value)?;
        if value.is_empty() {
            return Err(format!("{:?}: the filter has no value", token.raw));
        }
        let assigned = match (key, value.as_str()) {
            ("is", "assigned") => Some(Assigned::Anybody),
            ("is", "unassigned") => Some(Assigned::Nobody),
            ("assigned", "me") => Some(Assigned::Me),
            ("assigned", email) => Some(Assigned::Email(email.to_string())),
            _ => None,
        };
        if let Some(assigned) = assigned {
            if negate {
                return Err(format!("{:?}: assignment filters cannot be negated", token.raw));
            }
            if search.assigned.replace(assigned).is_some() {
                return Err(format!("{:?}: only one assignment filter is allowed", token.raw));
            }
            continue;
        }
        if key == "is" {
            if negate || !STATUSES.contains(&value.as_str()) {
                return Err(format!(
                    "{:?}: unknown status; use is:unresolved, is:resolved, is:ignored, is:assigned or is:unassigned",
                    token.raw
                ));
            }
            if search.status.replace(value).is_some() {
                return Err(format!("{:?}: only one is: filter is allowed", token.raw));
            }
            continue;
        }
        search.tags.push(TagFilter {
            key: key.to_string(),
            value,
            negate,
        });
    }
    Ok(search)
}

struct Token {
    raw: String,
}

/// Splits on whitespace outside double quotes.
fn tokenize(query: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in query.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    tokens.push(Token {
                        raw: std::mem::take(&mut current),
                    });
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(format!("{current:?}: unterminated quote"));
    }
    if !current.is_empty() {
        tokens.push(Token { raw: current });
    }
    Ok(tokens)
}

/// `key:value` when the part before the first `:` is a plain key (`release`, `user.id`, …).
fn split_key(token: &str) -> Option<(&str, &str)> {
    let (key, value) = token.split_once(':')?;
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    plain.then_some((key, value))
}

fn unquote(value: &str) -> Result<String, String> {
    match value.strip_prefix('"') {
        Some(rest) => rest
            .strip_suffix('"')
            .map(str::to_string)
            .ok_or_else(|| format!("{value:?}: unterminated quote")),
        None if value.contains('"') => Err(format!("{value:?}: a quote may only surround a whole value")),
        None => Ok(value.to_string()),
    }
}

/// Turns an assignment filter into the store's terms; `me` is the signed-in person (the API's
/// tokens are not people, so `assigned:me` needs the web UI).
pub async fn assignee_filter(
    pool: &crate::store::Pool,
    assigned: Option<&Assigned>,
    me: Option<i64>,
) -> Result<Option<crate::store::AssigneeFilter>, String> {
    use crate::store::AssigneeFilter;
    Ok(match assigned {
        None => None,
        Some(Assigned::Nobody) => Some(AssigneeFilter::Nobody),
        Some(Assigned::Anybody) => Some(AssigneeFilter::Anybody),
        Some(Assigned::Me) => Some(AssigneeFilter::User(me.ok_or(
            "assigned:me needs a signed-in person; API tokens are not people, so use assigned:<email>",
        )?)),
        Some(Assigned::Email(email)) => {
            let user = crate::store::user_by_email(pool, email)
                .await
                .map_err(|e| e.to_string())?;
            Some(AssigneeFilter::User(
                user.ok_or_else(|| format!("\"assigned:{email}\": no user has this email"))?
                    .id,
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str, negate: bool) -> TagFilter {
        TagFilter {
            key: key.into(),
            value: value.into(),
            negate,
        }
    }

    #[test]
    fn status_tags_negations_quotes_and_text_parse() {
        let s =
            parse(r#"is:resolved browser:"Chrome 120" !environment:staging release:app@1.2 division zero"#).unwrap();
        assert_eq!(s.status.as_deref(), Some("resolved"));
        assert_eq!(
            s.tags,
            vec![
                tag("browser", "Chrome 120", false),
                tag("environment", "staging", true),
                tag("release", "app@1.2", false)
            ]
        );
        assert_eq!(s.text, vec!["division", "zero"]);
    }

    #[test]
    fn assignment_filters_parse() {
        assert_eq!(parse("assigned:me").unwrap().assigned, Some(Assigned::Me));
        assert_eq!(
            parse("assigned:dev@example.org is:unresolved").unwrap().assigned,
            Some(Assigned::Email("dev@example.org".into()))
        );
        assert_eq!(parse("is:unassigned").unwrap().assigned, Some(Assigned::Nobody));
        assert!(parse("is:unassigned assigned:me").unwrap_err().contains("only one"));
    }

    #[test]
    fn values_may_contain_colons() {
        let s = parse(r#"url:"http://127.0.0.1:8000/division/6/0""#).unwrap();
        assert_eq!(s.tags, vec![tag("url", "http://127.0.0.1:8000/division/6/0", false)]);
    }

    #[test]
    fn bad_tokens_are_named_in_the_error() {
        assert!(parse("is:bogus").unwrap_err().contains("is:bogus"));
        assert!(parse("release:").unwrap_err().contains("release:"));
        assert!(parse(r#"browser:"Chrome"#).unwrap_err().contains("unterminated"));
        assert!(parse("!zero").unwrap_err().contains("!zero"));
        assert!(parse("is:resolved is:ignored").unwrap_err().contains("only one"));
    }

    #[test]
    fn an_empty_search_matches_everything() {
        assert_eq!(parse("  ").unwrap(), Search::default());
    }
}
