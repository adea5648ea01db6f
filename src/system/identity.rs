//! The values a row's identity takes in the database, derived from its
//! entity and number (never random), and the key a tombstone of it must
//! carry.

use super::template::Part;
use super::{SqlType, System};
use crate::operation::Value;
use crate::world::{RowKey, WorldRow};
use uuid::Uuid;

impl System {
    /// The row's own identity: a UUID readable in a dump (the entity's kind
    /// in the second group, the number last: `00000000-0002-4000-8000-000000000005`
    /// is row 5 of the second entity; version 4, variant 1, like a random
    /// one), the label as text (`t5`), or the number. `None` for a row
    /// named by its parents alone.
    pub fn identity(&self, row: &RowKey) -> Option<Value> {
        let entity = &self.entities[row.entity];
        Some(match entity.id? {
            SqlType::Uuid => {
                let kind = (entity.ordinal as u128) << 80;
                Value::Uuid(Uuid::from_u128(
                    kind | (0x4000u128 << 64) | (0x8000u128 << 48) | row.number as u128,
                ))
            }
            SqlType::Text => Value::Text(row.short()),
            SqlType::Int => Value::Int(row.number as i64),
        })
    }

    /// The row whose identity is `value`, if it is one of `entity`'s.
    pub fn row_of_identity(&self, entity: usize, value: &Value) -> Option<RowKey> {
        let spec = &self.entities[entity];
        let number = match (spec.id?, value) {
            (SqlType::Uuid, Value::Uuid(u)) => {
                let v = u.as_u128();
                (((v >> 80) & 0xffff) as u16 == spec.ordinal).then_some((v & 0xffff) as u16)?
            }
            (SqlType::Text, Value::Text(t)) => {
                t.strip_prefix(spec.prefix.as_str())?.parse().ok()?
            }
            (SqlType::Int, Value::Int(i)) => u16::try_from(*i).ok()?,
            _ => return None,
        };
        (number > 0).then(|| RowKey::new(self, entity, number))
    }

    /// The value a template hole takes for `row`.
    pub fn hole_value(&self, row: &WorldRow, part: &Part) -> Option<Value> {
        match part {
            Part::Id => self.identity(&row.key),
            Part::Label => Some(Value::Text(row.key.short())),
            Part::Parent(i) => self.identity(row.parents.get(*i)?),
            Part::Constant(name) => {
                let c = self.constants.get(name)?;
                Some(Value::of_type(c.sql_type, &c.value))
            }
            Part::Sql(_) => None,
        }
    }

    /// The row's key as its columns hold it (`{"tenancyId": …, "id": …}`),
    /// which is what a tombstone must record.
    pub fn key_json(&self, row: &WorldRow) -> serde_json::Value {
        let entity = &self.entities[row.key.entity];
        let mut map = serde_json::Map::new();
        for column in &entity.key {
            let (_, template) = entity
                .columns
                .iter()
                .find(|(c, _)| c == column)
                .expect("validated: every key column has a value");
            let part = template
                .single()
                .expect("validated: key columns are one hole");
            let value = self
                .hole_value(row, part)
                .expect("validated: the hole has a value for every row");
            map.insert(column.clone(), value.to_json());
        }
        serde_json::Value::Object(map)
    }

    /// A SQL expression for one column of `row`.
    pub fn column_sql(&self, row: &WorldRow, template: &super::Template) -> String {
        template
            .parts
            .iter()
            .map(|part| match part {
                Part::Sql(sql) => sql.clone(),
                hole => self
                    .hole_value(row, hole)
                    .map(|v| v.literal())
                    .unwrap_or_else(|| "NULL".into()),
            })
            .collect()
    }
}
