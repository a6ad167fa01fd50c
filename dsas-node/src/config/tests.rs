use super::*;

const FILE: &str = "/etc/dsas/node.toml";

fn err(text: &str) -> String {
    parse(text, Path::new(FILE)).unwrap_err().to_string()
}

fn ok(text: &str) -> Config {
    parse(text, Path::new(FILE)).unwrap()
}

/// One minimal instance followed by `extra` lines inside it.
fn instance(extra: &str) -> String {
    format!(
        "[[vrrp.instance]]\nname = \"VI_1\"\ninterface = \"eth0\"\nvirtual_router_id = 51\nvirtual_ipaddress = [\"10.0.0.100/24\"]\n{extra}"
    )
}

#[test]
fn full_file_parses_with_keepalived_names() {
    let c = ok(r#"
[node]
name = "lb1"
control_socket = "/run/x.sock"
log_level = "debug"

[vrrp.script.chk]
script = "/usr/local/bin/chk --fast"
interval = 2
timeout = 0.5
weight = -20
rise = 2
fall = 3

[vrrp.track_file.maint]
file = "/run/maint"

[[vrrp.instance]]
name = "VI_1"
interface = "veth0"
virtual_router_id = 51
priority = 150
advert_int = 0.1
version = 3
state = "MASTER"
nopreempt = true
preempt_delay = 10
accept = true
virtual_ipaddress = ["10.0.0.100/24 dev veth0", "10.0.1.100"]
unicast_src_ip = "10.0.0.1"
unicast_peer = ["10.0.0.2", "10.0.0.3"]
use_vmac = true
garp_master_delay = 1
garp_master_repeat = 3
garp_master_refresh = 60
garp_master_refresh_repeat = 2
garp_lower_prio_delay = 0
garp_lower_prio_repeat = 1
track_interface = [{ name = "eth1", weight = -10 }, { name = "eth2" }]
track_script = [{ name = "chk" }]
track_file = [{ name = "maint", weight = 5 }]
notify_master = "/etc/dsas/master.sh a b"
notify = "/etc/dsas/notify.sh"
checksum = "rfc9568"
checksum_accept = ["rfc9568", "pseudo-header"]

[[vrrp.instance]]
name = "VI_6"
interface = "veth0"
virtual_router_id = 51
virtual_ipaddress = ["fe80::1", "2001:db8::1/64"]
authentication = { auth_type = "PASS", auth_pass = "x" }
version = 2
"#
    .replace("version = 2\n", "version = 3\n")
    .replace(
        "authentication = { auth_type = \"PASS\", auth_pass = \"x\" }\n",
        "",
    )
    .as_str());
    assert_eq!(c.node.name.as_deref(), Some("lb1"));
    assert_eq!(c.node.control_socket, PathBuf::from("/run/x.sock"));
    let i = &c.vrrp.instance[0];
    assert_eq!(i.priority, 150);
    assert_eq!(i.advert_int, Duration::from_millis(100));
    assert_eq!(i.effective_version(), 3);
    assert_eq!(i.state, Some(StateHint::Master));
    assert_eq!(i.preempt_delay, Duration::from_secs(10));
    assert_eq!(
        i.virtual_ipaddress[0],
        VirtualAddress {
            address: "10.0.0.100".parse().unwrap(),
            prefix_len: 24,
            dev: Some("veth0".into())
        }
    );
    assert_eq!(i.virtual_ipaddress[1].prefix_len, 32);
    assert_eq!(i.vmac_name().as_deref(), Some("vrrp.51"));
    assert_eq!(i.track_interface[1].weight, 0);
    assert_eq!(
        i.checksum_accept.as_deref(),
        Some(&[ChecksumMode::Rfc9568, ChecksumMode::PseudoHeader][..])
    );
    let s = &c.vrrp.script["chk"];
    assert_eq!(
        (s.interval, s.timeout, s.weight, s.rise, s.fall),
        (
            Duration::from_secs(2),
            Some(Duration::from_millis(500)),
            -20,
            2,
            3
        )
    );
    assert_eq!(c.vrrp.track_file["maint"].weight, 1);
    // IPv6 with the same VRID on the same interface is another router.
    let v6 = &c.vrrp.instance[1];
    assert!(v6.is_ipv6());
    assert_eq!(v6.effective_version(), 3);
    assert_eq!(v6.priority, 100);
    assert_eq!(v6.garp_master_delay, Duration::from_secs(5));
    assert!(c.summary().contains("VI_1 on veth0: VRID 51 v3 priority 150 advert 0.1s nopreempt vmac vrrp.51 VIPs [10.0.0.100/24 dev veth0, 10.0.1.100/32]"), "{}", c.summary());
}

#[test]
fn defaults_for_an_empty_file() {
    let c = ok("");
    assert_eq!(c.node.control_socket, PathBuf::from(DEFAULT_CONTROL_SOCKET));
    assert_eq!(c.node.log_level, "info");
    assert!(c.vrrp.instance.is_empty());
    let c = ok(&instance(""));
    assert_eq!(c.vrrp.instance[0].effective_version(), 2);
    assert_eq!(c.vrrp.instance[0].advert_int, Duration::from_secs(1));
}

#[test]
fn syntax_error_names_line_and_column() {
    assert_eq!(
        err("[node\n"),
        "/etc/dsas/node.toml:1:6: unclosed table, expected `]`"
    );
}

#[test]
fn out_of_range_value() {
    assert_eq!(
        err(&instance("priority = 300\n")),
        "/etc/dsas/node.toml:6:12: vrrp.instance[0].priority: invalid value 300, expected 1..=255"
    );
    assert_eq!(
        err(&instance("version = 4\n")),
        "/etc/dsas/node.toml:6:11: vrrp.instance[0].version: invalid value 4, expected 2..=3"
    );
    assert_eq!(
        err(&instance(
            "track_interface = [{ name = \"eth1\", weight = 254 }]\n"
        )),
        "/etc/dsas/node.toml:6:46: vrrp.instance[0].track_interface[0].weight: invalid value 254, expected -253..=253"
    );
}

#[test]
fn unknown_key_rejected() {
    assert_eq!(
        err("[node]\nnme = 1\n"),
        "/etc/dsas/node.toml:2:1: node.nme: unknown field `nme`, expected one of `name`, `control_socket`, `log_level`"
    );
    assert!(err(&instance("prio = 3\n")).starts_with(
        "/etc/dsas/node.toml:6:1: vrrp.instance[0].prio: unknown field `prio`, expected one of `name`,"
    ));
    assert!(
        err("[bgp]\n").starts_with("/etc/dsas/node.toml:1:2: bgp: unknown field `bgp`"),
        "{}",
        err("[bgp]\n")
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        err(&instance("virtual_router_id = \"x\"\n").replace("virtual_router_id = 51\n", "")),
        "/etc/dsas/node.toml:5:21: vrrp.instance[0].virtual_router_id: invalid type: string \"x\", expected an integer"
    );
    assert_eq!(
        err(&instance("nopreempt = 1\n")),
        "/etc/dsas/node.toml:6:13: vrrp.instance[0].nopreempt: invalid type: integer `1`, expected a boolean"
    );
}

#[test]
fn bad_enum_value() {
    assert_eq!(
        err(&instance("state = \"FOO\"\n")),
        "/etc/dsas/node.toml:6:9: vrrp.instance[0].state: unknown variant `FOO`, expected one of `MASTER`, `master`, `BACKUP`, `backup`"
    );
}

#[test]
fn bad_virtual_address() {
    assert_eq!(
        err(&instance("").replace("[\"10.0.0.100/24\"]", "[\"10.0.0.1\", \"10.0.0.x/24\"]")),
        "/etc/dsas/node.toml:5:34: vrrp.instance[0].virtual_ipaddress[1]: invalid address \"10.0.0.x\""
    );
    assert_eq!(
        err(&instance("").replace("[\"10.0.0.100/24\"]", "[\"10.0.0.1/33\"]")),
        "/etc/dsas/node.toml:5:22: vrrp.instance[0].virtual_ipaddress[0]: invalid prefix length \"33\", expected 0..=32"
    );
    assert_eq!(
        err(&instance("").replace("[\"10.0.0.100/24\"]", "[\"10.0.0.1 label x\"]")),
        "/etc/dsas/node.toml:5:22: vrrp.instance[0].virtual_ipaddress[0]: unexpected \"label\", expected \"ADDRESS[/LEN] [dev IFNAME]\""
    );
}

#[test]
fn missing_key_points_at_its_table() {
    assert_eq!(
        err("[node]\n\n[[vrrp.instance]]\nname = \"VI_1\"\n"),
        "/etc/dsas/node.toml:3:1: vrrp.instance[0]: missing field `interface`"
    );
}

#[test]
fn duplicate_vrid_on_an_interface() {
    let text = format!("{}{}", instance(""), instance("").replace("VI_1", "VI_2"));
    assert_eq!(
        err(&text),
        "/etc/dsas/node.toml:9:1: vrrp.instance[1].virtual_router_id: virtual_router_id 51 already used for IPv4 on eth0 by vrrp.instance[0]"
    );
    // Another interface is fine.
    ok(&format!(
        "{}{}",
        instance(""),
        instance("").replace("VI_1", "VI_2").replace("eth0", "eth1")
    ));
}

#[test]
fn duplicate_instance_name() {
    let text = format!("{}{}", instance(""), instance("").replace("51", "52"));
    assert_eq!(
        err(&text),
        "/etc/dsas/node.toml:7:1: vrrp.instance[1].name: duplicate instance name \"VI_1\" (also vrrp.instance[0])"
    );
}

#[test]
fn sync_group_with_unknown_member() {
    let text = format!(
        "{}\n[[vrrp.sync_group]]\nname = \"G\"\nmembers = [\"VI_1\", \"VI_9\"]\n",
        instance("")
    );
    assert_eq!(
        err(&text),
        "/etc/dsas/node.toml:9:20: vrrp.sync_group[0].members[1]: unknown instance \"VI_9\""
    );
    let text = format!(
        "{}\n[[vrrp.sync_group]]\nname = \"G\"\nmembers = [\"VI_1\"]\n[[vrrp.sync_group]]\nname = \"H\"\nmembers = [\"VI_1\"]\n",
        instance("")
    );
    assert_eq!(
        err(&text),
        "/etc/dsas/node.toml:12:12: vrrp.sync_group[1].members[0]: instance \"VI_1\" is already a member of vrrp.sync_group[0]"
    );
}

#[test]
fn unknown_track_script() {
    assert_eq!(
        err(&instance("track_script = [{ name = \"nope\" }]\n")),
        "/etc/dsas/node.toml:6:19: vrrp.instance[0].track_script[0].name: unknown script \"nope\" (no [vrrp.script.nope])"
    );
}

#[test]
fn version_dependent_checks() {
    assert_eq!(
        err(&instance("advert_int = 0.5\n")),
        "/etc/dsas/node.toml:6:1: vrrp.instance[0].advert_int: invalid value 0.5, expected whole seconds 1..=255 for VRRPv2"
    );
    assert_eq!(
        err(&instance("version = 3\nadvert_int = 0.005\n")),
        "/etc/dsas/node.toml:7:1: vrrp.instance[0].advert_int: invalid value 0.005, expected 0.01..=40.95 in steps of 0.01 for VRRPv3"
    );
    assert_eq!(
        err(&instance("version = 2\n").replace("10.0.0.100/24", "fe80::1")),
        "/etc/dsas/node.toml:6:1: vrrp.instance[0].version: VRRPv2 is IPv4 only (RFC 3768); use version = 3 for IPv6"
    );
    assert_eq!(
        err(&instance(
            "version = 3\nauthentication = { auth_type = \"PASS\", auth_pass = \"x\" }\n"
        )),
        "/etc/dsas/node.toml:7:1: vrrp.instance[0].authentication: authentication is VRRPv2 only (RFC 5798 removed it)"
    );
    assert_eq!(
        err(&instance(
            "authentication = { auth_type = \"PASS\", auth_pass = \"123456789\" }\n"
        )),
        "/etc/dsas/node.toml:6:40: vrrp.instance[0].authentication.auth_pass: expected 1..=8 bytes"
    );
    assert_eq!(
        err(&instance("checksum = \"rfc9568\"\n")),
        "/etc/dsas/node.toml:6:1: vrrp.instance[0].checksum: checksum modes apply to VRRPv3 over IPv4 only"
    );
    assert_eq!(
        err(&instance("preempt_delay = 1001\n")),
        "/etc/dsas/node.toml:6:1: vrrp.instance[0].preempt_delay: invalid value 1001, expected 0..=1000 seconds"
    );
}

#[test]
fn mixed_families() {
    assert_eq!(
        err(&instance("").replace("[\"10.0.0.100/24\"]", "[\"10.0.0.1\", \"fe80::1\"]")),
        "/etc/dsas/node.toml:5:34: vrrp.instance[0].virtual_ipaddress[1]: IPv6 address fe80::1 in an IPv4 instance (one family per instance)"
    );
    assert_eq!(
        err(&instance("unicast_peer = [\"10.0.0.2\", \"fe80::2\"]\n")),
        "/etc/dsas/node.toml:6:29: vrrp.instance[0].unicast_peer[1]: IPv6 address fe80::2 in an IPv4 instance"
    );
}

#[test]
fn interface_names_fit_ifnamsiz() {
    assert_eq!(
        err(&instance("use_vmac = \"a-very-long-vmac-name\"\n")),
        "/etc/dsas/node.toml:6:12: vrrp.instance[0].use_vmac: invalid interface name \"a-very-long-vmac-name\" (1..=15 bytes, no '/' or space)"
    );
    assert_eq!(
        err(&instance("").replace("\"eth0\"", "\"\"")),
        "/etc/dsas/node.toml:3:1: vrrp.instance[0].interface: invalid interface name \"\" (1..=15 bytes, no '/' or space)"
    );
}

#[test]
fn unreadable_file() {
    let e = load(Path::new("/nonexistent/node.toml"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "/nonexistent/node.toml: cannot read: No such file or directory (os error 2)"
    );
}

#[test]
fn line_col_counts_characters() {
    assert_eq!(line_col("ab\ncé d", 7), (2, 4));
    assert_eq!(line_col("x", 0), (1, 1));
}
