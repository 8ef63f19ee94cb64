//! Grouping components: the tree a variant's hash is computed from, kept so that an engineer
//! can see why an event is in its issue (which frames counted, which a rule dropped and why).
//! A hash is the md5 of the values of the contributing components, depth first.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Component {
    pub id: &'static str,
    pub contributes: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub values: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Part {
    Value(String),
    Component(Component),
}

impl Component {
    pub fn new(id: &'static str) -> Component {
        Component {
            id,
            contributes: true,
            hint: None,
            values: Vec::new(),
        }
    }

    /// A component holding one value.
    pub fn leaf(id: &'static str, value: String) -> Component {
        let mut c = Component::new(id);
        c.values.push(Part::Value(value));
        c
    }

    pub fn push(&mut self, child: Component) {
        self.values.push(Part::Component(child));
    }

    /// Marks it as not counting, and says why.
    pub fn ignore(&mut self, hint: impl Into<String>) {
        self.contributes = false;
        self.hint = Some(hint.into());
    }

    /// The values that go into the hash: those of contributing components, depth first.
    pub fn hash_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    /// The md5 of [`Self::hash_values`], without copying them.
    pub fn hash(&self) -> String {
        use md5::{Digest, Md5};
        fn feed(c: &Component, hasher: &mut Md5) {
            if !c.contributes {
                return;
            }
            for part in &c.values {
                match part {
                    Part::Value(v) => hasher.update(v.as_bytes()),
                    Part::Component(c) => feed(c, hasher),
                }
            }
        }
        let mut hasher = Md5::new();
        feed(self, &mut hasher);
        hex::encode(hasher.finalize())
    }

    fn collect(&self, out: &mut Vec<String>) {
        if !self.contributes {
            return;
        }
        for part in &self.values {
            match part {
                Part::Value(v) => out.push(v.clone()),
                Part::Component(c) => c.collect(out),
            }
        }
    }

    /// Whether anything of it goes into the hash.
    pub fn counts(&self) -> bool {
        self.contributes
            && self.values.iter().any(|p| match p {
                Part::Value(_) => true,
                Part::Component(c) => c.counts(),
            })
    }
}
