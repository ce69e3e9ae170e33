//! Topic names and topic filters (§4.7): the rules PUBLISH, SUBSCRIBE and UNSUBSCRIBE check in
//! both directions, public so that a caller can check a topic before building a packet.

use super::{check_string, CodecError};

/// Checks a topic name (§4.7): non-empty, no `+` or `#`, no U+0000, at most 65,535 bytes.
pub fn validate_topic_name(topic: &str) -> Result<(), CodecError> {
    if topic.is_empty() || topic.contains(['+', '#']) {
        return Err(CodecError::InvalidTopicName);
    }
    check_string(topic)
}

/// Checks a topic filter (§4.7.1): non-empty, `+` only as a whole level, `#` only as the whole
/// last level, no U+0000, at most 65,535 bytes.
pub fn validate_topic_filter(filter: &str) -> Result<(), CodecError> {
    if filter.is_empty() {
        return Err(CodecError::InvalidTopicFilter);
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        let last = levels.peek().is_none();
        let ok = match level {
            "+" => true,
            "#" => last,
            _ => !level.contains(['+', '#']),
        };
        if !ok {
            return Err(CodecError::InvalidTopicFilter);
        }
    }
    check_string(filter)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn topic_filters_allow_wildcards_only_as_whole_levels() {
        for ok in ["#", "+", "a/#", "a/+/b", "+/+", "/", "a//b", "vmm/v1/tasks/events/#"] {
            assert_eq!(validate_topic_filter(ok), Ok(()), "{ok}");
        }
        for bad in ["", "a#", "a/#/b", "a+", "a/b+/c", "#/a"] {
            assert_eq!(validate_topic_filter(bad), Err(CodecError::InvalidTopicFilter), "{bad}");
        }
        assert_eq!(validate_topic_filter("a\0"), Err(CodecError::InvalidString));
    }
}
