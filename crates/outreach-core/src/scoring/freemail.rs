//! Consumer mailbox providers: an address there says nothing about a business behind it.

const FREE_MAIL: &[&str] = &[
    "gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de",
    "ymail.com", "hotmail.com", "hotmail.co.uk", "hotmail.fr", "hotmail.de", "outlook.com",
    "outlook.de", "live.com", "live.co.uk", "msn.com", "aol.com", "icloud.com", "me.com",
    "mac.com", "gmx.de", "gmx.net", "gmx.com", "gmx.at", "web.de", "mail.com", "yandex.ru",
    "yandex.com", "mail.ru", "proton.me", "protonmail.com", "pm.me", "zoho.com", "t-online.de",
    "orange.fr", "free.fr", "laposte.net", "sfr.fr", "libero.it", "virgilio.it", "qq.com",
    "163.com", "126.com", "naver.com", "hey.com", "fastmail.com", "tutanota.com", "tuta.io",
    "seznam.cz", "wp.pl", "o2.pl", "interia.pl", "btinternet.com", "comcast.net", "verizon.net",
    "att.net", "sky.com", "bluewin.ch", "freenet.de", "aim.com", "rocketmail.com",
];

/// Whether a domain belongs to a consumer mailbox provider.
pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain)
}
