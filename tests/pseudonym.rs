//! Pseudonymisation: with the setting on, e-mails and phones are stored as salted hashes of
//! their normalised form, stitching and the customer search still work, the 360 shows the
//! hash shortened, and the setting cannot be turned off once values are hashed.

mod common;

use common::{TestDb, ev};
use omnikpi::server::ingest::pseudonym;
use omnikpi::server::settings::{self, SettingError};

fn turn(t: &TestDb, value: &str) -> Result<(), SettingError> {
    let conn = t.db.connect().expect("connection");
    let value = settings::check(&conn, pseudonym::SETTING, value)?;
    conn.execute(
        "INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
        [pseudonym::SETTING, value.as_str()],
    )
    .expect("save");
    Ok(())
}

fn text(t: &TestDb, sql: &str) -> String {
    let conn = t.db.connect().expect("connection");
    conn.query_row(sql, [], |r| r.get(0)).expect("query")
}

#[test]
fn hashed_identifiers_still_stitch_and_can_be_searched() {
    let t = TestDb::new();
    turn(&t, "on").expect("on in an empty instance");
    let salt = text(
        &t,
        "SELECT value FROM settings WHERE key = 'pseudonym_salt'",
    );
    assert_eq!(salt.len(), 64, "32 random bytes in hex");
    t.load_events(&[
        ev("r1", "2026-03-01T10:00:00Z", "purchase")
            .channel("store")
            .email(" Anna.Rossi@Example.it ")
            .loyalty("L1")
            .amount("10.00"),
        ev("r2", "2026-03-02T10:00:00Z", "visit")
            .channel("web")
            .email("anna.rossi@example.it")
            .set("phone", "347 123 4567"),
        ev("r3", "2026-03-03T10:00:00Z", "visit")
            .channel("app")
            .set("phone", "0039 347-123-4567")
            .device("d1"),
    ]);
    // Nothing in clear; one hash per person's e-mail and phone, each the salted SHA-256 of
    // the normalised value.
    assert_eq!(
        t.count("SELECT count(*) FROM events WHERE contains(email, '@') OR contains(phone, '347')"),
        0
    );
    assert_eq!(t.count("SELECT count(DISTINCT email) FROM events"), 1);
    assert_eq!(t.count("SELECT count(DISTINCT phone) FROM events"), 1);
    let conn = t.db.connect().expect("connection");
    let expected: (String, String) = conn
        .query_row(
            "SELECT 'h:' || sha256(? || 'anna.rossi@example.it'), 'h:' || sha256(? || '+393471234567')",
            [&salt, &salt],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("hashes");
    assert_eq!(text(&t, "SELECT max(email) FROM events"), expected.0);
    assert_eq!(text(&t, "SELECT max(phone) FROM events"), expected.1);
    assert!(pseudonym::is_pseudonym(&expected.0));
    // Stitching works on the hashes: card, e-mail, phone and device are one customer.
    assert_eq!(t.count("SELECT count(DISTINCT customer_id) FROM events"), 1);
    assert_eq!(
        t.count("SELECT count(*) FROM identities WHERE id_type IN ('email', 'phone')"),
        2
    );
    // The search hashes what is typed, after the same normalisation.
    let customer = t.count("SELECT max(customer_id) FROM events");
    for typed in [
        "ANNA.ROSSI@example.it",
        "+39 347 123 4567",
        "3471234567",
        "L1",
    ] {
        let found = omnikpi::server::journey::customer::find(&conn, typed).expect(typed);
        assert_eq!(found, customer, "{typed}");
    }
    // Shown shortened to whoever looks, masked or not.
    let shown = omnikpi::journey::mask("email", &expected.0);
    assert_eq!(shown, format!("h:{}…", &expected.0[2..10]));
    assert_eq!(omnikpi::journey::shorten_pseudonym(&expected.0), shown);
    assert_eq!(
        omnikpi::journey::shorten_pseudonym("anna@example.it"),
        "anna@example.it"
    );

    // Cannot be turned off any more; turning it on again keeps the salt.
    let err = turn(&t, "off").expect_err("hashes are stored");
    assert!(matches!(err, SettingError::PseudonymsStored(3)), "{err}");
    assert!(err.to_string().contains("cannot be turned back"), "{err}");
    assert!(err.italian().contains("resta attiva"));
    turn(&t, "on").expect("on again");
    assert_eq!(
        text(
            &t,
            "SELECT value FROM settings WHERE key = 'pseudonym_salt'"
        ),
        salt
    );
}

#[test]
fn it_cannot_be_turned_on_over_clear_values_and_a_lost_salt_stops_loads() {
    let t = TestDb::new();
    t.load_events(&[ev("r1", "2026-03-01T10:00:00Z", "visit")
        .channel("web")
        .email("anna@example.it")]);
    let err = turn(&t, "on").expect_err("clear e-mails are stored");
    assert!(
        matches!(err, SettingError::ClearIdentifiersStored(1)),
        "{err}"
    );
    assert_eq!(
        t.count("SELECT count(*) FROM settings WHERE key = 'pseudonym_salt'"),
        0
    );
    // Off stays allowed while nothing is hashed.
    turn(&t, "off").expect("off is fine");

    let fresh = TestDb::new();
    turn(&fresh, "on").expect("on");
    {
        let conn = fresh.db.connect().expect("connection");
        conn.execute("DELETE FROM settings WHERE key = 'pseudonym_salt'", [])
            .expect("lose the salt");
    }
    let file = fresh.file(
        "e.csv",
        &[
            "event_id,occurred_at,event_type,email",
            "x1,2026-03-01T10:00:00Z,visit,anna@example.it",
        ],
    );
    let err = fresh.load("web", &file).expect_err("no salt, no load");
    assert!(err.to_string().contains("salt"), "{err}");
    assert_eq!(fresh.count("SELECT count(*) FROM events"), 0);
}
