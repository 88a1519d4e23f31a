//! Paging and ordering of lists: `page`, `limit` (at most 100), `sort`
//! and `order` (`asc` | `desc`, default `desc`), each a 400 when bad, and
//! the page body `{items, page, limit, total, totalPages}` every list
//! answers with.

use serde_json::{Value, json};

use crate::error::ApiError;

/// Largest `limit` of any list.
pub const MAX_LIMIT: u64 = 100;
const DEFAULT_LIMIT: u64 = 20;
const MAX_PAGE: u64 = 1_000_000;

/// A requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub page: u64,
    pub limit: u64,
}

impl Page {
    /// From the raw `page` and `limit` parameters.
    pub fn parse(page: Option<&str>, limit: Option<&str>) -> Result<Self, ApiError> {
        Ok(Self { page: number("page", page, 1, MAX_PAGE)?, limit: number("limit", limit, DEFAULT_LIMIT, MAX_LIMIT)? })
    }

    pub fn offset(self) -> u64 {
        (self.page - 1) * self.limit
    }

    /// The page body around `items`, `total` matching in all.
    pub fn body(self, items: Vec<Value>, total: u64) -> Value {
        json!({
            "items": Value::Array(items),
            "page": self.page,
            "limit": self.limit,
            "total": total,
            "totalPages": total.div_ceil(self.limit),
            "hasMore": self.page * self.limit < total,
        })
    }

    /// This page of `all` (lists small enough to sort in memory).
    pub fn slice<T>(self, all: Vec<T>) -> Vec<T> {
        let start = usize::try_from(self.offset()).unwrap_or(usize::MAX);
        all.into_iter().skip(start).take(usize::try_from(self.limit).unwrap_or(usize::MAX)).collect()
    }
}

fn number(name: &str, v: Option<&str>, default: u64, max: u64) -> Result<u64, ApiError> {
    match v {
        None => Ok(default),
        Some(s) => match s.trim().parse::<u64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::BadRequest(format!("'{name}' must be a whole number from 1 to {max}"))),
        },
    }
}

/// `order`: `desc` (the default) or `asc`; true for descending.
pub fn descending(order: Option<&str>) -> Result<bool, ApiError> {
    match order {
        None | Some("desc") => Ok(true),
        Some("asc") => Ok(false),
        Some(other) => Err(ApiError::BadRequest(format!("'order' must be asc or desc, not {other:?}"))),
    }
}

/// `sort` of the folder, share and link lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimpleSort {
    CreatedAt,
    Name,
}

impl SimpleSort {
    pub fn parse(sort: Option<&str>) -> Result<Self, ApiError> {
        match sort {
            None | Some("createdAt") => Ok(Self::CreatedAt),
            Some("name") => Ok(Self::Name),
            Some(other) => Err(ApiError::BadRequest(format!("'sort' must be createdAt or name, not {other:?}"))),
        }
    }
}

/// Sorts, orders and pages a list held in memory: `key` gives each item's
/// creation date and name.
pub fn sort_page<T, F>(mut all: Vec<T>, sort: SimpleSort, descending: bool, page: Page, key: F) -> (Vec<T>, u64)
where
    F: Fn(&T) -> (chrono::DateTime<chrono::Utc>, String),
{
    all.sort_by(|a, b| {
        let (ka, kb) = (key(a), key(b));
        let ord = match sort {
            SimpleSort::CreatedAt => ka.0.cmp(&kb.0).then_with(|| ka.1.cmp(&kb.1)),
            SimpleSort::Name => ka.1.to_lowercase().cmp(&kb.1.to_lowercase()).then_with(|| ka.0.cmp(&kb.0)),
        };
        if descending { ord.reverse() } else { ord }
    });
    let total = all.len() as u64;
    (page.slice(all), total)
}

/// `page`, `limit`, `sort` (`createdAt` | `name`) and `order` of the
/// folder, share and link lists.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    page: Option<String>,
    limit: Option<String>,
    sort: Option<String>,
    order: Option<String>,
}

impl ListQuery {
    /// Sorts and pages rendered items (each with `createdAt` and a `name`,
    /// else `targetName` / `targetId`) into the page body; 400 on a bad
    /// parameter.
    pub fn page_of(&self, items: Vec<Value>) -> Result<Value, ApiError> {
        let page = Page::parse(self.page.as_deref(), self.limit.as_deref())?;
        let sort = SimpleSort::parse(self.sort.as_deref())?;
        let descending = descending(self.order.as_deref())?;
        let key = |v: &Value| {
            let at = v["createdAt"]
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&chrono::Utc))
                .unwrap_or_default();
            let name = ["name", "targetName", "targetId", "id"].iter().find_map(|k| v[*k].as_str()).unwrap_or("");
            (at, name.to_owned())
        };
        let (items, total) = sort_page(items, sort, descending, page, key);
        Ok(page.body(items, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(Page::parse(None, None).unwrap(), Page { page: 1, limit: 20 });
        assert!(Page::parse(Some("0"), None).is_err());
        assert!(Page::parse(None, Some("101")).is_err());
        assert!(Page::parse(Some("x"), None).is_err());
        assert!(descending(Some("up")).is_err());
        assert!(SimpleSort::parse(Some("size")).is_err());
        assert_eq!(Page { page: 2, limit: 20 }.body(vec![], 41)["totalPages"], 3);
    }
}
