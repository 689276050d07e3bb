//! Any bytes as a log segment: the reader refuses or accepts, never panics; a torn tail is
//! reported only where a crash can leave one (the last segment); and every record it
//! accepts, framed again as the writer frames it, reads back the same.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rota_server::log::{frame_into, parse_segment};

fuzz_target!(|data: &[u8]| {
    let last = parse_segment(data, true);
    let middle = parse_segment(data, false);
    if let Ok(seg) = &middle {
        assert!(seg.torn_at.is_none(), "a torn tail outside the last segment");
        let last = last.as_ref().expect("a whole middle segment is whole at the end too");
        assert_eq!(last.records, seg.records);
    }
    if let Ok(seg) = last {
        if let Some(at) = seg.torn_at {
            assert!(at as usize <= data.len());
            // what precedes the torn record is a whole segment on its own
            let whole = parse_segment(&data[..at as usize], false).expect("the part before a torn tail is whole");
            assert_eq!(whole.records, seg.records);
        }
        let mut again = Vec::new();
        for r in &seg.records {
            frame_into(&mut again, &serde_json::to_vec(r).expect("a read record serialises"));
        }
        let back = parse_segment(&again, false).expect("reframed records read back");
        assert_eq!(back.records, seg.records, "a record changed on the way round");
    }
});
