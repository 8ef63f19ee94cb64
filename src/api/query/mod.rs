//! The issue search language, as Sentry's where users reach for it:
//! - `is:unresolved|resolved|ignored|archived`, `is:assigned|unassigned`, `is:for_review`
//!   (unresolved and new or regressed in the last 7 days), `assigned:me|<email>`;
//! - `key:value` and `!key:value` tag filters, values quoted when they hold spaces, `*` as a
//!   wildcard; `has:key` and `!has:key`;
//! - `browser.name:`, `os.name:`, `runtime.name:` (a tag's name without its version) and
//!   `user.id:`, `user.email:`, `user.username:`, `user.ip:`;
//! - `release:latest`;
//! - `firstSeen:`/`lastSeen:` (`-24h` within, `+7d` longer ago, `>2024-05-01`, a date alone for
//!   that day) and `times_seen:`/`users_seen:` with `>`, `>=`, `<`, `<=`;
//! - free text, matched against title and culprit.

mod values;

use crate::store::{FieldFilter, IssueField, TagAlternative, TagFilter, TagMatch};

/// `assigned:me`, `assigned:<email>`, `is:assigned`, `is:unassigned`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assigned {
    Me,
    Email(String),
    Anybody,
    Nobody,
}

/// A parsed search.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub status: Option<String>,
    /// `is:for_review`: unresolved, and first seen or regressed since this time.
    pub for_review_since: Option<f64>,
    pub assigned: Option<Assigned>,
    pub tags: Vec<TagFilter>,
    pub fields: Vec<FieldFilter>,
    pub text: Vec<String>,
}

impl Search {
    /// The store's filter for this search: of `project_id` (or every project), its assignee
    /// term already resolved (see [`assignee_filter`]), one page in `sort` order.
    pub fn into_filter(
        self,
        project_id: Option<i64>,
        assignee: Option<crate::store::AssigneeFilter>,
        sort: crate::store::IssueSort,
        (offset, limit): (i64, i64),
        now: f64,
    ) -> crate::store::IssueFilter {
        crate::store::IssueFilter {
            project_id,
            assignee,
            status: self.status,
            tags: self.tags,
            fields: self.fields,
            for_review_since: self.for_review_since,
            text: self.text,
            sort,
            offset,
            limit,
            now,
        }
    }
}

/// How far back `is:for_review` looks, as Sentry's inbox does.
const REVIEW_WINDOW: f64 = 7.0 * 86_400.0;

/// Tags whose values are `name version`, searchable by name alone as `<tag>.name`.
const NAMED_TAGS: &[&str] = &["browser", "os", "runtime"];

/// The fields of the `user` tag's value (`id:42`), searchable as `user.<field>`.
const USER_FIELDS: &[&str] = &["id", "email", "username", "ip"];

/// Parses a search at time `now` (for relative times); the error names the offending token.
pub fn parse(query: &str, now: f64) -> Result<Search, String> {
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
        let no_negation = || {
            if negate {
                Err(format!("{:?}: this filter cannot be negated", token.raw))
            } else {
                Ok(())
            }
        };
        let assigned = match (key, value.as_str()) {
            ("is", "assigned") => Some(Assigned::Anybody),
            ("is", "unassigned") => Some(Assigned::Nobody),
            ("assigned", "me") => Some(Assigned::Me),
            ("assigned", email) => Some(Assigned::Email(email.to_string())),
            _ => None,
        };
        if let Some(assigned) = assigned {
            no_negation()?;
            if search.assigned.replace(assigned).is_some() {
                return Err(format!("{:?}: only one assignment filter is allowed", token.raw));
            }
            continue;
        }
        match key {
            "is" => {
                no_negation()?;
                let status = match value.as_str() {
                    "unresolved" | "resolved" | "ignored" => value.clone(),
                    "archived" => "ignored".to_string(),
                    "for_review" => {
                        search.for_review_since = Some(now - REVIEW_WINDOW);
                        "unresolved".to_string()
                    }
                    _ => {
                        return Err(format!(
                            "{:?}: unknown status; use is:unresolved, is:resolved, is:ignored, is:for_review, \
                             is:assigned or is:unassigned",
                            token.raw
                        ));
                    }
                };
                if search.status.as_ref().is_some_and(|s| *s != status) {
                    return Err(format!("{:?}: only one status filter is allowed", token.raw));
                }
                search.status = Some(status);
            }
            "firstSeen" | "first_seen" | "age" => {
                no_negation()?;
                search
                    .fields
                    .extend(values::time(IssueField::FirstSeen, key, &value, now)?);
            }
            "lastSeen" | "last_seen" => {
                no_negation()?;
                search
                    .fields
                    .extend(values::time(IssueField::LastSeen, key, &value, now)?);
            }
            "times_seen" | "timesSeen" => {
                no_negation()?;
                search.fields.push(values::count(IssueField::TimesSeen, key, &value)?);
            }
            "users_seen" | "usersSeen" => {
                no_negation()?;
                search.fields.push(values::count(IssueField::UsersSeen, key, &value)?);
            }
            "has" => {
                if split_key(&format!("{value}:x")).is_none() {
                    return Err(format!("{:?}: has: takes a tag key", token.raw));
                }
                search.tags.push(TagFilter {
                    alternatives: alternatives(&value, None),
                    negate,
                });
            }
            "release" if value == "latest" => search.tags.push(TagFilter {
                alternatives: vec![TagAlternative::new("release", TagMatch::LatestRelease)],
                negate,
            }),
            _ => search.tags.push(TagFilter {
                alternatives: alternatives(key, Some(&value)),
                negate,
            }),
        }
    }
    Ok(search)
}

/// What `key:value` (or `has:key`, with no value) matches among an issue's tag rows.
fn alternatives(key: &str, value: Option<&str>) -> Vec<TagAlternative> {
    let exact = |v: &str| match values::like_pattern(v) {
        Some(pattern) => TagMatch::Like(pattern),
        None => TagMatch::Is(v.to_string()),
    };
    if let Some((tag, "name")) = key.split_once('.')
        && NAMED_TAGS.contains(&tag)
    {
        // `Chrome 120.0.0`: the name alone, or the name before a version.
        return match value {
            None => vec![TagAlternative::new(tag, TagMatch::Any)],
            Some(v) => {
                let name = values::like_pattern(v).unwrap_or_else(|| values::like_escape(v));
                vec![
                    TagAlternative::new(tag, exact(v)),
                    TagAlternative::new(tag, TagMatch::Like(format!("{name} %"))),
                ]
            }
        };
    }
    if let Some(("user", field)) = key.split_once('.')
        && USER_FIELDS.contains(&field)
    {
        // The `user` tag holds `id:42` (or `email:…`, …); the SDK's other user fields are kept
        // as `user.email`, … tags of their own.
        return match value {
            None => vec![
                TagAlternative::new("user", TagMatch::Like(format!("{field}:%"))),
                TagAlternative::new(key, TagMatch::Any),
            ],
            Some(v) => vec![
                TagAlternative::new("user", exact(&format!("{field}:{v}"))),
                TagAlternative::new(key, exact(v)),
            ],
        };
    }
    vec![TagAlternative::new(key, value.map_or(TagMatch::Any, exact))]
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
    use crate::store::Compare;

    const NOW: f64 = 1_714_557_600.0;

    fn tag(key: &str, m: TagMatch, negate: bool) -> TagFilter {
        TagFilter {
            alternatives: vec![TagAlternative::new(key, m)],
            negate,
        }
    }

    fn is(v: &str) -> TagMatch {
        TagMatch::Is(v.into())
    }

    #[test]
    fn status_tags_negations_quotes_and_text_parse() {
        let s = parse(
            r#"is:resolved browser:"Chrome 120" !environment:staging release:app@1.2 division zero"#,
            NOW,
        )
        .unwrap();
        assert_eq!(s.status.as_deref(), Some("resolved"));
        assert_eq!(
            s.tags,
            vec![
                tag("browser", is("Chrome 120"), false),
                tag("environment", is("staging"), true),
                tag("release", is("app@1.2"), false)
            ]
        );
        assert_eq!(s.text, vec!["division", "zero"]);
    }

    #[test]
    fn assignment_filters_parse() {
        assert_eq!(parse("assigned:me", NOW).unwrap().assigned, Some(Assigned::Me));
        assert_eq!(
            parse("assigned:dev@example.org is:unresolved", NOW).unwrap().assigned,
            Some(Assigned::Email("dev@example.org".into()))
        );
        assert_eq!(parse("is:unassigned", NOW).unwrap().assigned, Some(Assigned::Nobody));
        assert!(
            parse("is:unassigned assigned:me", NOW)
                .unwrap_err()
                .contains("only one")
        );
    }

    #[test]
    fn values_may_contain_colons() {
        let s = parse(r#"url:"http://127.0.0.1:8000/division/6/0""#, NOW).unwrap();
        assert_eq!(
            s.tags,
            vec![tag("url", is("http://127.0.0.1:8000/division/6/0"), false)]
        );
    }

    #[test]
    fn has_wildcards_names_and_user_fields_become_tag_alternatives() {
        let s = parse(
            "has:user !has:release browser:Chrome* os.name:Mac user.email:a@b.c",
            NOW,
        )
        .unwrap();
        assert_eq!(s.tags[0], tag("user", TagMatch::Any, false));
        assert_eq!(s.tags[1], tag("release", TagMatch::Any, true));
        assert_eq!(s.tags[2], tag("browser", TagMatch::Like("Chrome%".into()), false));
        assert_eq!(
            s.tags[3].alternatives,
            vec![
                TagAlternative::new("os", is("Mac")),
                TagAlternative::new("os", TagMatch::Like("Mac %".into()))
            ]
        );
        assert_eq!(
            s.tags[4].alternatives,
            vec![
                TagAlternative::new("user", is("email:a@b.c")),
                TagAlternative::new("user.email", is("a@b.c"))
            ]
        );
        assert_eq!(
            parse("release:latest", NOW).unwrap().tags,
            vec![tag("release", TagMatch::LatestRelease, false)]
        );
    }

    #[test]
    fn times_counts_and_for_review_become_field_filters() {
        let s = parse("lastSeen:-1h times_seen:>5 users_seen:<=2 is:for_review", NOW).unwrap();
        let fields: Vec<_> = s.fields.iter().map(|f| (f.field, f.op, f.value)).collect();
        assert_eq!(
            fields,
            vec![
                (IssueField::LastSeen, Compare::Ge, NOW - 3600.0),
                (IssueField::TimesSeen, Compare::Gt, 5.0),
                (IssueField::UsersSeen, Compare::Le, 2.0)
            ]
        );
        assert_eq!(s.status.as_deref(), Some("unresolved"));
        assert_eq!(s.for_review_since, Some(NOW - 7.0 * 86_400.0));
    }

    #[test]
    fn bad_tokens_are_named_in_the_error() {
        assert!(parse("is:bogus", NOW).unwrap_err().contains("is:bogus"));
        assert!(parse("release:", NOW).unwrap_err().contains("release:"));
        assert!(parse(r#"browser:"Chrome"#, NOW).unwrap_err().contains("unterminated"));
        assert!(parse("!zero", NOW).unwrap_err().contains("!zero"));
        assert!(parse("is:resolved is:ignored", NOW).unwrap_err().contains("only one"));
        assert!(
            parse("lastSeen:yesterday", NOW)
                .unwrap_err()
                .contains("lastSeen:yesterday")
        );
        assert!(parse("!times_seen:5", NOW).unwrap_err().contains("cannot be negated"));
    }

    #[test]
    fn an_empty_search_matches_everything() {
        assert_eq!(parse("  ", NOW).unwrap(), Search::default());
    }
}
