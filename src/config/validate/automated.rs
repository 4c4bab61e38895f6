//! Validation of the automated-mail rules (`[[automated]]`) and their
//! correlation keys (`[[automated.correlate]]`).

use std::collections::BTreeMap;

use regex::Regex;

use super::super::raw::*;
use super::super::{AutomatedRule, ConfigError, Correlation, MailField};
use super::{Validator, one_line};

/// The rules in order, and each rule's correlation keys by rule name.
type RulesAndKeys = (Vec<AutomatedRule>, BTreeMap<String, Vec<Correlation>>);

impl Validator {
    pub(super) fn automated_rules(
        &self,
        raw: Vec<RawAutomatedRule>,
    ) -> Result<RulesAndKeys, ConfigError> {
        let mut rules: Vec<AutomatedRule> = Vec::new();
        let mut correlations = BTreeMap::new();
        for (index, mut raw) in raw.into_iter().enumerate() {
            if rules.iter().any(|r| r.name == raw.name) {
                return Err(self.err(
                    &format!("automated[{index}].name"),
                    format!(
                        "expected a unique rule name; \"{}\" is used twice",
                        raw.name
                    ),
                ));
            }
            let correlate = std::mem::take(&mut raw.correlate);
            let rule = self.automated_rule(index, raw)?;
            if !correlate.is_empty() {
                correlations.insert(rule.name.clone(), self.correlations(index, correlate)?);
            }
            rules.push(rule);
        }
        Ok((rules, correlations))
    }

    pub(super) fn correlations(
        &self,
        index: usize,
        raw: Vec<RawCorrelation>,
    ) -> Result<Vec<Correlation>, ConfigError> {
        let mut list: Vec<Correlation> = Vec::new();
        for (i, c) in raw.into_iter().enumerate() {
            let key = format!("automated[{index}].correlate[{i}]");
            let correlation = self.correlation(&key, c)?;
            if list.iter().any(|c| c.name == correlation.name) {
                return Err(self.err(
                    &format!("{key}.name"),
                    format!(
                        "expected a unique name within the rule; \"{}\" is used twice",
                        correlation.name
                    ),
                ));
            }
            list.push(correlation);
        }
        Ok(list)
    }

    /// Compiles a case-insensitive regex, naming `key` on error.
    pub(super) fn regex(&self, key: &str, pattern: &str) -> Result<Regex, ConfigError> {
        Regex::new(&format!("(?i){pattern}"))
            .map_err(|e| self.err(key, format!("invalid regex: {}", one_line(&e.to_string()))))
    }

    pub(super) fn automated_rule(
        &self,
        index: usize,
        raw: RawAutomatedRule,
    ) -> Result<AutomatedRule, ConfigError> {
        let key = |k: &str| format!("automated[{index}].{k}");
        let compile = |k: &str, p: &str| self.regex(&key(k), p);
        if raw.from.is_none() && raw.subject.is_none() && raw.headers.is_empty() {
            return Err(self.err(
                &key("name"),
                "expected at least one condition: from, subject or headers",
            ));
        }
        Ok(AutomatedRule {
            from: raw
                .from
                .as_deref()
                .map(|p| compile("from", p))
                .transpose()?,
            subject: raw
                .subject
                .as_deref()
                .map(|p| compile("subject", p))
                .transpose()?,
            headers: raw
                .headers
                .iter()
                .map(|(h, p)| Ok((h.to_ascii_lowercase(), compile(&format!("headers.{h}"), p)?)))
                .collect::<Result<_, ConfigError>>()?,
            name: raw.name,
            category: raw.category,
        })
    }

    pub(super) fn correlation(
        &self,
        key: &str,
        raw: RawCorrelation,
    ) -> Result<Correlation, ConfigError> {
        let name = raw.name.trim();
        if name.is_empty() || name.contains(['/', ':']) {
            return Err(self.err(
                &format!("{key}.name"),
                "expected a short name without '/' or ':', e.g. \"nagios\"",
            ));
        }
        let pattern = self.regex(&format!("{key}.key"), &raw.key)?;
        if pattern.captures_len() < 2 {
            return Err(self.err(
                &format!("{key}.key"),
                "expected a regex with a capture group around the key, e.g. 'Alert: (\\S+) is'",
            ));
        }
        let key_in = self.mail_field(&format!("{key}.key_in"), raw.key_in.as_deref())?;
        let recovery_in = match raw.recovery_in.as_deref() {
            Some(field) => self.mail_field(&format!("{key}.recovery_in"), Some(field))?,
            None => key_in.clone(),
        };
        Ok(Correlation {
            name: name.to_string(),
            key_in,
            key: pattern,
            recovery_in,
            recovery: raw
                .recovery
                .as_deref()
                .map(|p| self.regex(&format!("{key}.recovery"), p))
                .transpose()?,
        })
    }

    pub(super) fn mail_field(
        &self,
        key: &str,
        field: Option<&str>,
    ) -> Result<MailField, ConfigError> {
        match field.unwrap_or("subject") {
            "subject" => Ok(MailField::Subject),
            "body" => Ok(MailField::Body),
            other => match other.strip_prefix("header:").map(str::trim) {
                Some(name) if !name.is_empty() && !name.contains(char::is_whitespace) => {
                    Ok(MailField::Header(name.to_ascii_lowercase()))
                }
                _ => Err(self.err(
                    key,
                    format!("expected \"subject\", \"body\" or \"header:Name\", found \"{other}\""),
                )),
            },
        }
    }
}
