//! Demo data: realistic in shape, clearly fictitious in content (every domain is under the
//! reserved `.example` top-level domain, so nothing here can ever be mailed).

use outreach_core::prospect::Workspace;

const FIRST: &[&str] = &[
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katrin",
    "Lars", "Maya", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Abbott", "Berger", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova",
    "Jansen", "Keller", "Laurent", "Moreau", "Nowak", "Olsen", "Petrov", "Quint", "Rossi",
    "Schmidt", "Torres", "Urban", "Vogel", "Weber", "Young", "Zeller",
];
const COMPANY: &[(&str, &str)] = &[
    ("Brightleaf Media", "brightleaf"),
    ("Copperfox Reviews", "copperfox"),
    ("Driftwood Deals", "driftwood"),
    ("Ember & Oak Blog", "emberoak"),
    ("Fieldnote Travel", "fieldnote"),
    ("Glasshouse Gear", "glasshouse"),
    ("Harbor Lane Home", "harborlane"),
    ("Ironbark Outdoors", "ironbark"),
    ("Juniper Kitchen", "juniper"),
    ("Kestrel Tech Picks", "kestrel"),
    ("Lumen Beauty Lab", "lumenlab"),
    ("Mossy Stone Garden", "mossystone"),
];
const TITLE: &[&str] = &[
    "Founder",
    "Editor-in-Chief",
    "Partnerships Manager",
    "Content Creator",
    "Head of Growth",
    "Affiliate Manager",
    "Blogger",
    "Marketing Lead",
];
const COUNTRY: &[&str] = &[
    "Germany",
    "France",
    "United Kingdom",
    "Spain",
    "Netherlands",
    "United States",
    "Italy",
    "Sweden",
];

/// A deterministic generator, so the demo is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// `Demo workspace`, or `Demo workspace 2`, 3, … when taken.
pub(crate) fn free_name(existing: &[Workspace]) -> String {
    let taken = |n: &str| existing.iter().any(|w| w.name.eq_ignore_ascii_case(n));
    let mut name = "Demo workspace".to_string();
    let mut i = 2;
    while taken(&name) {
        name = format!("Demo workspace {i}");
        i += 1;
    }
    name
}

fn cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `rows` fictitious prospects as CSV with generic headers.
pub(crate) fn csv(rows: usize) -> String {
    let mut rng = Lcg(42);
    let mut out = String::from(
        "First Name,Last Name,Email,Website,Twitter,LinkedIn,Company,Title,Country,Followers,Notes\n",
    );
    for i in 0..rows {
        let first = FIRST[rng.next(FIRST.len())];
        let last = LAST[rng.next(LAST.len())];
        let (company, slug) = COMPANY[rng.next(COMPANY.len())];
        let domain = format!("{slug}{}.example", i % 7);
        let local = format!("{}.{}{}", first.to_lowercase(), last.to_lowercase(), i);
        let email = match rng.next(10) {
            0 => format!("info{i}@{domain}").replace(&i.to_string(), ""),
            1 => format!("{local}@webmail.example"),
            2 => String::new(),
            _ => format!("{local}@{domain}"),
        };
        let website = match rng.next(4) {
            0 => String::new(),
            1 => format!("http://{domain}"),
            2 => domain.clone(),
            _ => format!("https://{domain}"),
        };
        let handle = format!("{}{}{i}", &first.to_lowercase(), &last.to_lowercase()[..1]);
        let twitter = if rng.next(3) == 0 {
            String::new()
        } else {
            format!("@{handle}")
        };
        let linkedin = if email.is_empty() || rng.next(2) == 0 {
            format!(
                "https://www.linkedin.com/in/{}-{}-demo{i}",
                first.to_lowercase(),
                last.to_lowercase()
            )
        } else {
            String::new()
        };
        let followers = match rng.next(5) {
            0 => String::new(),
            1 => (50 + rng.next(500)).to_string(),
            2 => format!("{}.{}k", 1 + rng.next(9), rng.next(10)),
            3 => format!("{}k", 10 + rng.next(90)),
            _ => format!("{},{:03}", 100 + rng.next(400), rng.next(1000)),
        };
        let notes = if rng.next(4) == 0 {
            "Met at a (fictional) trade fair"
        } else {
            ""
        };
        let row = [
            first,
            last,
            &email,
            &website,
            &twitter,
            &linkedin,
            company,
            TITLE[rng.next(TITLE.len())],
            COUNTRY[rng.next(COUNTRY.len())],
            &followers,
            notes,
        ]
        .map(cell)
        .join(",");
        out.push_str(&row);
        out.push('\n');
    }
    out
}

/// The demo workspace's saved filters: the best qualified prospects, and those still to qualify.
pub(crate) fn saved_filters() -> [(&'static str, outreach_store::saved_filters::ProspectFilter); 2]
{
    use outreach_core::ProspectStatus;
    use outreach_store::saved_filters::ProspectFilter;
    [
        (
            "Qualified, score 80 or more",
            ProspectFilter {
                statuses: vec![ProspectStatus::Qualified],
                min_score: Some(80),
                ..Default::default()
            },
        ),
        (
            "Still to qualify",
            ProspectFilter {
                statuses: vec![ProspectStatus::New],
                ..Default::default()
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use outreach_discovery::csv_source::{preview, read_rows};

    #[test]
    fn demo_rows_are_all_valid_and_fictitious() {
        let csv = super::csv(300);
        let p = preview(csv.as_bytes(), 0).unwrap();
        let out = read_rows(csv.as_bytes(), &p.columns, |_| {}).unwrap();
        assert_eq!(out.invalid, vec![], "demo data must import cleanly");
        assert_eq!(out.valid.len(), 300);
        assert!(
            out.valid
                .iter()
                .filter_map(|r| r.prospect.email.as_deref())
                .all(|e| e.ends_with(".example"))
        );
    }
}
