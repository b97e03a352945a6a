//! Dovecot (Debian's `dovecot-imapd`) as a private IMAP server on a loopback port: its own
//! config, a passwd-file user and a Maildir the test fills by writing files straight into it.

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

const DOVECOT: &str = "/usr/sbin/dovecot";

/// A running Dovecot, stopped on drop, with one user.
pub struct Dovecot {
    port: u16,
    child: Child,
    dir: tempfile::TempDir,
    delivered: u32,
}

impl Dovecot {
    /// The user's name.
    pub const USER: &'static str = "alex@brand.example";
    /// The user's password.
    pub const PASSWORD: &'static str = "imap-test-password";

    /// Starts Dovecot and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// [`Dovecot::start`], also taking XOAUTH2 logins whose bearer token the OAuth 2.0
    /// token introspection endpoint (RFC 7662) at `introspection_url` reports active, for
    /// the user it names in `username`.
    pub fn start_with_oauth2(introspection_url: &str) -> Self {
        Self::start_with(Some(introspection_url))
    }

    fn start_with(introspection_url: Option<&str>) -> Self {
        assert!(
            Path::new(DOVECOT).exists(),
            "{DOVECOT} is missing: install dovecot-imapd (scripts/setup.sh test does)"
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        let root = dir.path();
        for sub in ["run", "state", "mail"] {
            fs::create_dir_all(root.join(sub)).expect("dovecot folders");
        }
        // The mail user (not root: Dovecot refuses uid 0) writes below `mail`.
        open_to_all(&root.join("mail"));
        // Dovecot's unprivileged helpers must reach the folder.
        fs::set_permissions(root, fs::Permissions::from_mode(0o755)).expect("chmod");
        let port = crate::unused_port();
        let (uid, gid) = ids();
        fs::write(
            root.join("passwd"),
            format!("{}:{{PLAIN}}{}::::::\n", Self::USER, Self::PASSWORD),
        )
        .expect("passwd file");
        let (mechanisms, oauth2) = match introspection_url {
            None => ("plain login", String::new()),
            Some(url) => {
                fs::write(
                    root.join("oauth2.conf"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\n\
                         username_attribute = username\nactive_attribute = active\n\
                         active_value = true\n"
                    ),
                )
                .expect("oauth2 config");
                (
                    "plain login xoauth2",
                    format!(
                        "passdb {{\n  driver = oauth2\n  mechanisms = xoauth2\n  args = {}\n}}\n",
                        root.join("oauth2.conf").display()
                    ),
                )
            }
        };
        let config = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
first_valid_uid = 0
mail_fsync = never
# IDLE notices mail a test drops into the Maildir within a second, not the default 30.
mailbox_idle_check_interval = 1 secs
mail_location = maildir:{root}/mail/%u/Maildir
{oauth2}passdb {{
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"#,
            root = root.display()
        );
        let conf = root.join("dovecot.conf");
        fs::write(&conf, config).expect("dovecot.conf");
        let child = Command::new(DOVECOT)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dovecot");
        let mut server = Self {
            port,
            child,
            dir,
            delivered: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().expect("dovecot status") {
                panic!("dovecot exited early ({status}):\n{}", server.log());
            }
            assert!(
                Instant::now() < deadline,
                "dovecot did not listen on {port}:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The IMAP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user's Maildir.
    pub fn maildir(&self) -> PathBuf {
        self.dir
            .path()
            .join("mail")
            .join(Self::USER)
            .join("Maildir")
    }

    /// Puts a message in the inbox as a delivery agent would: written into `tmp`, then
    /// renamed into `new`, so Dovecot never sees half a file.
    pub fn deliver(&mut self, raw: &[u8]) {
        let md = self.maildir();
        for sub in ["tmp", "new", "cur"] {
            fs::create_dir_all(md.join(sub)).expect("maildir");
        }
        // Created by the test's user; the mail user must be able to move and index them.
        for dir in [md.parent().map(Path::to_path_buf), Some(md.clone())]
            .into_iter()
            .flatten()
            .chain(["tmp", "new", "cur"].iter().map(|s| md.join(s)))
        {
            open_to_all(&dir);
        }
        self.delivered += 1;
        let name = format!(
            "{}.M{}P{}.outreach-test",
            1_700_000_000 + self.delivered,
            self.delivered,
            std::process::id()
        );
        let tmp = md.join("tmp").join(&name);
        fs::write(&tmp, raw).expect("write message");
        fs::rename(&tmp, md.join("new").join(&name)).expect("deliver message");
    }

    /// The flags Dovecot keeps on each message file (the Maildir `:2,` suffix letters), by
    /// file, once it has moved them to `cur`.
    pub fn maildir_flags(&self) -> Vec<String> {
        let cur = self.maildir().join("cur");
        let mut flags: Vec<String> = fs::read_dir(&cur)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .map(|name| {
                        name.split_once(":2,")
                            .map(|(_, f)| f.to_owned())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        flags.sort();
        flags
    }

    /// How many message files the Maildir holds (new and cur): nothing may ever be deleted.
    pub fn message_count(&self) -> usize {
        ["new", "cur"]
            .iter()
            .map(|sub| {
                fs::read_dir(self.maildir().join(sub))
                    .map(|e| e.count())
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Dovecot's log so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        crate::stop_gracefully(&mut self.child);
    }
}

fn open_to_all(dir: &Path) {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).expect("chmod");
}

/// The mail user's ids: this process's, or `nobody`'s when it runs as root, since Dovecot
/// never gives mail access as root.
fn ids() -> (String, String) {
    let user = if crate::is_root() {
        Some("nobody")
    } else {
        None
    };
    let id = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .args(user)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .expect("id")
    };
    (id("-u"), id("-g"))
}
