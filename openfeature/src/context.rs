//! OpenFeature's evaluation context as flagc's typed dynamic context.

use flagc::eval::{Context, ContextError};
use flagc::ir::Layout;
use flagc::model::AttrType;
use open_feature::{EvaluationContext, EvaluationContextFieldValue as Field};

/// Fills `ctx` from an OpenFeature context. Fields the layout does not declare are ignored;
/// a field of the wrong type is an error naming the attribute. The targeting key fills
/// `targeting_attr` unless a field sets it.
pub fn fill(
    ctx: &mut Context<'_>,
    layout: &Layout,
    of: &EvaluationContext,
    targeting_attr: Option<&str>,
) -> Result<(), String> {
    for (name, value) in &of.custom_fields {
        let Some(i) = layout.index(name) else {
            continue;
        };
        let ty = &layout.attrs()[i].ty;
        set(ctx, name, ty, value).map_err(|e| e.to_string())?;
    }
    if let (Some(key), Some(attr)) = (&of.targeting_key, targeting_attr)
        && !of.custom_fields.contains_key(attr)
        && layout.index(attr).is_some()
    {
        ctx.set_text(attr, key)
            .map_err(|e| format!("the targeting key fills `{attr}`: {e}"))?;
    }
    Ok(())
}

fn set(
    ctx: &mut Context<'_>,
    name: &str,
    ty: &AttrType,
    value: &Field,
) -> Result<(), ContextError> {
    let wrong = |got: &str| ContextError::WrongType {
        attr: name.to_owned(),
        expected: match ty {
            AttrType::Enum(values) => format!("enum of {values:?}"),
            t => t.name().to_owned(),
        },
        got: got.to_owned(),
    };
    match (ty, value) {
        (AttrType::String, Field::String(s)) => ctx.set_str(name, s.clone()),
        (AttrType::Int, Field::Int(i)) => ctx.set_int(name, *i),
        (AttrType::Float, Field::Float(x)) => ctx.set_float(name, *x),
        // An integer is a float value too (a JSON-ish context often cannot tell them apart).
        (AttrType::Float, Field::Int(i)) => ctx.set_float(name, *i as f64),
        (AttrType::Bool, Field::Bool(b)) => ctx.set_bool(name, *b),
        (AttrType::Semver | AttrType::Datetime | AttrType::Enum(_), Field::String(s)) => {
            ctx.set_text(name, s)
        }
        (AttrType::Datetime, Field::DateTime(t)) => {
            let nanos = t.unix_timestamp_nanos();
            let ts = i64::try_from(nanos)
                .ok()
                .and_then(|n| jiff::Timestamp::from_nanosecond(n.into()).ok())
                .ok_or_else(|| ContextError::Invalid {
                    attr: name.to_owned(),
                    expected: "datetime".into(),
                    value: t.to_string(),
                    reason: "out of range".into(),
                })?;
            ctx.set_datetime(name, ts)
        }
        (AttrType::StringList, Field::Struct(any)) => match any.downcast_ref::<Vec<String>>() {
            Some(list) => ctx.set_list(name, list.iter().cloned()),
            None => Err(wrong("a struct that is not a Vec<String>")),
        },
        (_, Field::Bool(b)) => Err(wrong(&format!("the bool {b}"))),
        (_, Field::Int(i)) => Err(wrong(&format!("the int {i}"))),
        (_, Field::Float(x)) => Err(wrong(&format!("the float {x}"))),
        (_, Field::String(s)) => Err(wrong(&format!("the string {s:?}"))),
        (_, Field::DateTime(t)) => Err(wrong(&format!("the datetime {t}"))),
        (_, Field::Struct(_)) => Err(wrong("a struct")),
    }
}
