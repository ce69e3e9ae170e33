//! Permissions (§6.3): which identities may insert, update, replace, delete and read in which
//! collection, who owns an object, and which documents a collection accepts. Pure: the shell
//! reads a file into [`Rules`] once; the bridge asks it before it reads anything
//! ([`Rules::admits`], [`Rules::may_read`]) and again on the decided result, before anything is
//! written ([`Rules::judge`]).
//!
//! Decisions, and why:
//! - **No rules: everything is allowed** ([`Rules::default`]), as before permissions existed: a
//!   development bridge keeps working without a file.
//! - **With rules, an unlisted collection is denied** unless [`Unlisted::Allow`] is chosen: a
//!   permissions file is an allow list, and a forgotten collection fails closed.
//! - **In a listed collection, an operation nobody is granted is forbidden**, reads included:
//!   there is no implicit grant.
//! - **The owner field is the bridge's**: an insert that leaves it out gets the requester's
//!   identity; one that names the requester is accepted; one that names anybody else is
//!   `forbidden` (rather than silently overwritten: the client's view would otherwise show an
//!   owner that was never stored), unless the requester is in `owner_override`. A replace that
//!   leaves it out keeps the stored owner; an update or replace whose result has another owner
//!   than the stored one is `forbidden` unless the requester is in `owner_override`.
//! - **Rejects that depend on the stored object** (the owner, the schema of an updated document)
//!   are outcomes like a conflict (recorded, §9); those that depend only on the request and the
//!   rules are refused before any read, like an unserved collection.
//! - **Messages are bounded**: every name or value quoted in them is cut to a few dozen bytes.

use crate::decide::{Decision, Stored};
use crate::error::{Code, Violation};
use crate::limits::Limits;
use crate::message::{Change, Reject, Request};
use crate::value::{self, Document, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// Most bytes of a name or value quoted in a reject message.
const QUOTE: usize = 64;

/// What an identity (and a role name) is: a `{client}` topic level.
const IDENTITY: &str = "1 to 128 characters of [A-Za-z0-9._:~-]";

/// Most bytes of a schema's message in a reject.
const SCHEMA_MESSAGE: usize = 512;

/// What happens to a collection the rules do not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unlisted {
    /// Everything is allowed in it.
    #[default]
    Allow,
    /// Nothing is allowed in it (`forbidden`; loads and failures go unanswered).
    Deny,
}

/// Who an operation is granted to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// `"*"`: any identity the broker let in.
    Anyone,
    /// `"alice"`: one identity.
    Identity(String),
    /// `"@admin"`: the members of a role.
    Role(String),
    /// `"owner"`: the identity in the object's owner field (update, replace and delete only), and
    /// the collection's `owner_override`.
    Owner,
}

impl Grant {
    /// Reads a grant as it is written in a permissions file.
    pub fn parse(text: &str) -> Result<Grant, String> {
        match text {
            "*" => Ok(Grant::Anyone),
            "owner" => Ok(Grant::Owner),
            _ => match text.strip_prefix('@') {
                Some(role) => crate::topic::check_client(role)
                    .map(|()| Grant::Role(role.to_string()))
                    .map_err(|_| format!("{:?} is not a role name (@ then 1 to 128 characters)", short(text))),
                None => crate::topic::check_client(text).map(|()| Grant::Identity(text.to_string())).map_err(|_| {
                    format!("{:?} is neither \"*\", \"owner\", \"@role\" nor an identity ({IDENTITY})", short(text))
                }),
            },
        }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Grant::Anyone => f.write_str("*"),
            Grant::Identity(id) => f.write_str(id),
            Grant::Role(role) => write!(f, "@{role}"),
            Grant::Owner => f.write_str("owner"),
        }
    }
}

/// A collection's JSON Schema (or any other document check), implemented by the shell so that
/// this crate stays free of a schema engine.
pub trait Schema: Send + Sync + fmt::Debug {
    /// Checks a document as the collection would store it (with `_id` and the owner field).
    /// Errors are [`Code::InvalidDocument`], located at the dotted path inside the document.
    fn check(&self, doc: &Document) -> Result<(), Violation>;
}

/// The rules of one collection. An empty grant list: nobody.
#[derive(Debug, Clone, Default)]
pub struct CollectionRules {
    /// Who may insert.
    pub insert: Vec<Grant>,
    /// Who may update.
    pub update: Vec<Grant>,
    /// Who may replace.
    pub replace: Vec<Grant>,
    /// Who may delete.
    pub delete: Vec<Grant>,
    /// Who may load the collection and ask for replays. Events themselves are delivered by the
    /// broker: only its ACL keeps them from an identity (per collection, never per document).
    pub read: Vec<Grant>,
    /// The top-level field the bridge keeps the owner's identity in.
    pub owner_field: Option<String>,
    /// Who may act as any object's owner, and set or change the owner field.
    pub owner_override: Vec<Grant>,
    /// The documents the collection accepts.
    pub schema: Option<Arc<dyn Schema>>,
}

impl CollectionRules {
    fn grants(&self, op: &str) -> &[Grant] {
        match op {
            "insert" => &self.insert,
            "update" => &self.update,
            "replace" => &self.replace,
            "delete" => &self.delete,
            _ => &self.read,
        }
    }
}

/// A permission rule that cannot be used, with the key it is under
/// (`collections.tasks.update`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct RulesError {
    /// Where: `roles.admin`, `collections.tasks.owner_field`, …
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// Every permission of a bridge. [`Rules::default`] allows everything.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    unlisted: Unlisted,
    roles: BTreeMap<String, BTreeSet<String>>,
    collections: BTreeMap<String, CollectionRules>,
}

impl Rules {
    /// Rules over these roles (name → identities) and collections; checks that every role named
    /// is defined, that `owner` is granted only for update, replace and delete of a collection
    /// with an owner field, and that the owner field can be one.
    pub fn new(
        unlisted: Unlisted,
        roles: BTreeMap<String, Vec<String>>,
        collections: BTreeMap<String, CollectionRules>,
    ) -> Result<Rules, RulesError> {
        let mut checked = BTreeMap::new();
        for (name, members) in roles {
            let key = format!("roles.{name}");
            crate::topic::check_client(&name).map_err(|_| err(&key, &format!("a role name is {IDENTITY}")))?;
            for member in &members {
                crate::topic::check_client(member)
                    .map_err(|_| err(&key, &format!("{:?} is not an identity ({IDENTITY})", short(member))))?;
            }
            checked.insert(name, members.into_iter().collect());
        }
        let rules = Rules { unlisted, roles: checked, collections };
        for (name, c) in &rules.collections {
            rules.check_collection(name, c)?;
        }
        Ok(rules)
    }

    fn check_collection(&self, name: &str, c: &CollectionRules) -> Result<(), RulesError> {
        let key = |k: &str| format!("collections.{name}.{k}");
        crate::topic::check_collection(name).map_err(|v| err(&format!("collections.{name}"), v.message()))?;
        if let Some(field) = &c.owner_field {
            if field == "_id" || field.starts_with("_vmm") || value::field_name_problem(field).is_some() {
                return Err(err(&key("owner_field"), "must be a top-level field name other than _id and _vmm*"));
            }
        }
        let lists = [
            ("insert", &c.insert),
            ("update", &c.update),
            ("replace", &c.replace),
            ("delete", &c.delete),
            ("read", &c.read),
            ("owner_override", &c.owner_override),
        ];
        for (op, grants) in lists {
            for grant in grants {
                match grant {
                    Grant::Role(role) if !self.roles.contains_key(role) => {
                        return Err(err(&key(op), &format!("the role @{role} is not defined under [roles]")));
                    }
                    Grant::Owner if matches!(op, "insert" | "read" | "owner_override") => {
                        return Err(err(&key(op), "\"owner\" applies to update, replace and delete only"));
                    }
                    Grant::Owner if c.owner_field.is_none() => {
                        return Err(err(&key(op), "\"owner\" needs the collection's owner_field"));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Whether any rule is set (else everything is allowed).
    pub fn is_open(&self) -> bool {
        self.unlisted == Unlisted::Allow && self.collections.is_empty()
    }

    /// The rules of `collection`, if it is listed.
    pub fn collection(&self, collection: &str) -> Option<&CollectionRules> {
        self.collections.get(collection)
    }

    /// Whether `identity` may load `collection` and ask for replays of it.
    pub fn may_read(&self, identity: &str, collection: &str) -> bool {
        match self.collections.get(collection) {
            None => self.unlisted == Unlisted::Allow,
            Some(c) => c.read.iter().any(|g| self.matches(identity, g)),
        }
    }

    /// Step 2 of §6.2, before the object is read: whether the operation could be allowed for
    /// `identity` at all (an `owner` grant is checked later, by [`Rules::judge`]).
    pub fn admits(&self, identity: &str, request: &Request) -> Result<(), Violation> {
        let (collection, op) = (request.collection.as_str(), request.change.op());
        let who = short(identity);
        match self.collections.get(collection) {
            None if self.unlisted == Unlisted::Allow => Ok(()),
            None => Err(forbidden(format!(
                "{who} may not {op} in {}: the collection is not in the permissions",
                short(collection)
            ))),
            Some(c) => {
                let grants = c.grants(op);
                if grants.iter().any(|g| *g == Grant::Owner || self.matches(identity, g)) {
                    Ok(())
                } else {
                    Err(forbidden(format!(
                        "{who} may not {op} in {}: {op} is granted to {}",
                        short(collection),
                        list(grants)
                    )))
                }
            }
        }
    }

    /// Checks a decision to apply against the owner rule and the schema, on the state it was
    /// decided on: sets the owner field of an insert (and keeps it on a replace), in the event as
    /// in the stored document, or turns the decision into a `forbidden` or `invalid_document`
    /// reject. Other decisions pass unchanged.
    pub fn judge(
        &self,
        identity: &str,
        request: &Request,
        stored: &Stored,
        decision: Decision,
        limits: &Limits,
    ) -> Decision {
        let Decision::Apply { mut event, mut doc } = decision else { return decision };
        let Some(rules) = self.collections.get(&request.collection) else { return Decision::Apply { event, doc } };
        match self.check(identity, request, rules, stored, doc.as_mut(), limits) {
            Ok(()) => {
                event.change = match (event.change, &doc) {
                    (Change::Insert(_), Some(d)) => Change::Insert(d.clone()),
                    (Change::Replace(_), Some(d)) => Change::Replace(d.clone()),
                    (change, _) => change,
                };
                Decision::Apply { event, doc }
            }
            Err(v) => Decision::Reject(
                Reject::from_violation(
                    Some(request.rid.clone()),
                    Some(request.collection.clone()),
                    Some(request.id.clone()),
                    v,
                )
                .with_current(stored.version),
            ),
        }
    }

    fn check(
        &self,
        identity: &str,
        request: &Request,
        rules: &CollectionRules,
        stored: &Stored,
        doc: Option<&mut Document>,
        limits: &Limits,
    ) -> Result<(), Violation> {
        let op = request.change.op();
        let owner_field = rules.owner_field.as_deref();
        let owner = owner_field.and_then(|f| stored.doc.as_ref()?.get(f));
        let overrides = rules.owner_override.iter().any(|g| self.matches(identity, g));
        let is_owner = matches!(owner, Some(Value::String(o)) if o == identity);
        let grants = rules.grants(op);
        let granted = grants.iter().any(|g| match g {
            Grant::Owner => is_owner || overrides,
            g => self.matches(identity, g),
        });
        let whose = || match owner {
            Some(o) => format!("owner is {}", short_value(o)),
            None => "the object has no owner".to_string(),
        };
        let (who, collection) = (short(identity), short(&request.collection));
        if !granted {
            return Err(forbidden(format!("{who} may not {op} in {collection}: {}", whose())));
        }
        let (Some(field), Some(doc)) = (owner_field, doc) else { return Ok(()) };
        if let Change::Insert(_) = request.change {
            match doc.get(field) {
                None => {
                    doc.insert(field.to_string(), Value::String(identity.to_string()));
                }
                Some(Value::String(o)) if o == identity => {}
                Some(other) if !overrides => {
                    let given = short_value(other);
                    return Err(forbidden(format!(
                        "{who} may not insert in {collection} with {field} = {given}: the owner is the inserter"
                    ))
                    .at(format!("doc.{field}")));
                }
                Some(_) => {}
            }
        } else {
            if let (None, Some(o), Change::Replace(_)) = (doc.get(field), owner, &request.change) {
                doc.insert(field.to_string(), o.clone());
            }
            if doc.get(field) != owner && !overrides {
                return Err(forbidden(format!("{who} may not change {field} in {collection}: {}", whose()))
                    .at(format!("doc.{field}")));
            }
        }
        if value::serialized_len(&Value::Object(doc.clone())) > limits.max_document {
            return Err(Violation::invalid_document(format!(
                "with its {field} the document exceeds the limit of {} bytes",
                limits.max_document
            )));
        }
        match &rules.schema {
            Some(schema) => schema.check(doc).map_err(|v| {
                let path = v.path().map_or_else(|| "doc".to_string(), |p| format!("doc.{p}"));
                Violation::new(Code::InvalidDocument, cut(v.message(), SCHEMA_MESSAGE)).at(cut(&path, SCHEMA_MESSAGE))
            }),
            None => Ok(()),
        }
    }

    /// Whether `identity` is one `grant` names (an `owner` grant names nobody by itself).
    fn matches(&self, identity: &str, grant: &Grant) -> bool {
        match grant {
            Grant::Anyone => true,
            Grant::Identity(id) => id == identity,
            Grant::Role(role) => self.roles.get(role).is_some_and(|m| m.contains(identity)),
            Grant::Owner => false,
        }
    }
}

fn err(key: &str, message: &str) -> RulesError {
    RulesError { key: key.to_string(), message: message.to_string() }
}

fn forbidden(message: String) -> Violation {
    Violation::new(Code::Forbidden, message)
}

/// The grants as a message lists them.
fn list(grants: &[Grant]) -> String {
    if grants.is_empty() {
        return "nobody".to_string();
    }
    let all: Vec<String> = grants.iter().map(Grant::to_string).collect();
    cut(&all.join(", "), 4 * QUOTE)
}

/// A name cut to [`QUOTE`] bytes.
fn short(text: &str) -> String {
    cut(text, QUOTE)
}

/// A value as JSON, cut to [`QUOTE`] bytes.
fn short_value(v: &Value) -> String {
    short(&v.to_string())
}

/// `text` cut to at most `max` bytes (on a character boundary), marked with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
