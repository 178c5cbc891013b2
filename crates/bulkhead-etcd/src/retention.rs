//! Which delta segments a retention leaves useless: a restore starts from a
//! full snapshot and replays the segments after it, so segments that end
//! before the oldest full snapshot kept can never be replayed again.

/// The segments (id, last revision) that end at or before the oldest kept
/// full snapshot's revision; none when no full snapshot is kept (the
/// segments are then all there is, and stay).
pub fn obsolete_segments<'a>(kept_full_revisions: &[i64], segments: &'a [(String, i64)]) -> Vec<&'a str> {
    let Some(&oldest) = kept_full_revisions.iter().min() else { return Vec::new() };
    segments.iter().filter(|(_, to)| *to <= oldest).map(|(id, _)| id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_before_the_oldest_kept_full_snapshot_go() {
        let segments =
            vec![("a".to_string(), 90), ("b".to_string(), 100), ("c".to_string(), 150), ("d".to_string(), 260)];
        assert_eq!(obsolete_segments(&[200, 100], &segments), ["a", "b"]);
        assert!(obsolete_segments(&[], &segments).is_empty());
        assert!(obsolete_segments(&[10], &segments).is_empty());
    }
}
