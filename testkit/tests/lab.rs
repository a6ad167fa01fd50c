//! Kernel lab: Debian's kernel under qemu (TCG). Needs root and
//! `qemu-system-x86_64` (prints SKIP otherwise); the first run downloads
//! and builds the image (cached under lab/cache or $DSAS_LAB_CACHE).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]

use std::time::Duration;

use testkit::lab::{Lab, LabImage, NicAttach, Vm, VmConfig};
use testkit::{Bridge, Netns};

/// The image, or `None` (after printing SKIP) without root or qemu.
fn image() -> Option<LabImage> {
    if !testkit::is_root() {
        testkit::print_skip("needs root (TAP devices)");
        return None;
    }
    if testkit::lab::qemu_path().is_none() {
        testkit::print_skip("qemu-system-x86_64 not found: apt-get install qemu-system-x86");
        return None;
    }
    Some(Lab::ensure_built().unwrap_or_else(|e| panic!("{e}")))
}

fn boot(image: &LabImage, cfg: VmConfig) -> Vm {
    Vm::boot(image, cfg).unwrap_or_else(|e| panic!("{e}"))
}

/// Pings `ip` from the guest until one reply comes back (links take a
/// moment to settle after boot).
const PING_UNTIL: &str = "i=0; while [ $i -lt 30 ]; do ping -c1 -W1 $TARGET >/dev/null && exit 0; i=$((i+1)); done; exit 1";

#[test]
fn guest_has_ipvs_drbd_bonding_vlan_and_reports_exit_status() {
    let Some(image) = image() else { return };
    let xz = testkit::find_tool("xz").unwrap();
    let disk = std::env::temp_dir().join(format!("dsas-lab-test-{}.img", std::process::id()));
    std::fs::File::create(&disk)
        .unwrap()
        .set_len(16 << 20)
        .unwrap();
    let vm = boot(
        &image,
        VmConfig {
            name: Some("lab-basic".into()),
            // A dynamically linked host binary whose liblzma is not in the
            // base image: the lab must copy it along.
            files: vec![(xz, "/opt/dsas/xz".into())],
            disks: vec![disk.clone()],
            ..VmConfig::default()
        },
    );

    let out = vm
        .run("uname -r; head -1 /proc/net/ip_vs; head -1 /proc/drbd; cut -d' ' -f1 /proc/modules | grep -x bonding; test -f /sys/class/net/bonding_masters && echo bonding_masters")
        .unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "{}\nIP Virtual Server version 1.2.1 (size=4096)\nversion: 8.4.11 (api:1/proto:86-101)\nbonding\nbonding_masters\n",
            image.kernel_version
        )
    );
    assert_eq!(out.status, 0);

    // Output, error output and exit status of one command, then another in
    // the same boot; output without a trailing newline survives intact.
    let out = vm
        .run("echo out; echo err >&2; printf tail; exit 3")
        .unwrap();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str(), out.status),
        ("out\ntail", "err\n", 3)
    );
    let out = vm.run("false").unwrap();
    assert_eq!(out.status, 1);

    // Real IPVS through ipvsadm (netlink), a kernel bond, an 802.1Q VLAN.
    let out = vm
        .run(
            "ipvsadm -A -t 10.0.0.1:80 -s wrr && ipvsadm -a -t 10.0.0.1:80 -r 10.0.0.2:80 -m -w 3 && ipvsadm -Ln\n\
             ip link add bond0 type bond mode active-backup miimon 100 && grep -m1 'Bonding Mode' /proc/net/bonding/bond0\n\
             ip link add d0 type dummy && ip link add link d0 name d0.10 type vlan id 10 && grep -o 'VID: 10' /proc/net/vlan/d0.10\n\
             /lib/drbd/drbdsetup-84 new-resource r0 && /lib/drbd/drbdsetup-84 show r0 | head -1",
        )
        .unwrap();
    assert!(out.success(), "{out:?}");
    assert!(
        out.stdout.contains("TCP  10.0.0.1:80 wrr"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["->", "10.0.0.2:80", "Masq", "3", "0", "0"]),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Bonding Mode: fault-tolerance (active-backup)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("VID: 10"), "{}", out.stdout);
    assert!(out.stdout.contains("resource r0 {"), "{}", out.stdout);

    let out = vm.run("/opt/dsas/xz --version | head -1").unwrap();
    assert!(out.stdout.starts_with("xz (XZ Utils)"), "{out:?}");

    // The raw disk is /dev/vda; DRBD 8.4 metadata goes onto it.
    let out = vm
        .run("cat /sys/block/vda/size && drbdmeta --force 0 v08 /dev/vda internal create-md")
        .unwrap();
    assert!(out.success(), "{out:?}");
    assert!(out.stdout.starts_with("32768\n"), "{out:?}");
    assert!(
        out.stdout
            .contains("New drbd meta data block successfully created."),
        "{out:?}"
    );

    // The console stream: the boot's own lines, then a line written now.
    assert!(vm.console().contains("dsas-lab: ready"));
    let mark = vm.console_mark();
    vm.run("echo console-marker-$((6*7)) >/dev/console")
        .unwrap();
    let since = vm
        .wait_for_console_since(mark, "console-marker-42", Duration::from_secs(10))
        .unwrap();
    assert!(!since.contains("dsas-lab: ready"), "{since}");
    vm.shutdown().unwrap();
    std::fs::remove_file(&disk).unwrap();
}

#[test]
fn guest_and_host_namespace_ping_over_tap() {
    let Some(image) = image() else { return };
    let ns = Netns::new("lab").unwrap();
    let vm = boot(
        &image,
        VmConfig {
            name: Some("lab-tap".into()),
            nics: vec![NicAttach::Netns(ns.name().to_owned())],
            script: "ip addr add 10.213.0.2/24 dev eth0".into(),
            ..VmConfig::default()
        },
    );
    let tap = vm.tap(0).unwrap().to_owned();
    assert!(ns.has_link(&tap), "TAP {tap} not in {ns}");
    ns.addr_add(&tap, "10.213.0.1/24").unwrap();

    let out = vm
        .run(&PING_UNTIL.replace("$TARGET", "10.213.0.1"))
        .unwrap();
    assert!(out.success(), "guest -> host ping failed: {out:?}");
    ns.exec(&["ping", "-c1", "-W2", "10.213.0.2"]).unwrap();
    // The host learnt the guest NIC's MAC.
    let neigh = ns
        .neighbor(&tap, "10.213.0.2".parse().unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        neigh.lladdr.map(testkit::netns::format_mac).as_deref(),
        vm.mac(0)
    );

    // Pulling the cable through the qemu monitor drops the guest's carrier.
    vm.set_link(0, false).unwrap();
    assert_eq!(
        vm.run("cat /sys/class/net/eth0/carrier").unwrap().stdout,
        "0\n"
    );
    vm.set_link(0, true).unwrap();
    assert_eq!(
        vm.run("cat /sys/class/net/eth0/carrier").unwrap().stdout,
        "1\n"
    );
    drop(vm);
    assert!(!ns.has_link(&tap), "TAP {tap} left behind");
}

#[test]
fn two_guests_reach_each_other_across_a_host_bridge() {
    let Some(image) = image() else { return };
    let ns = Netns::new("lab").unwrap();
    let br = Bridge::new(&ns, "labbr0").unwrap();
    let cfg = |n: u8| VmConfig {
        name: Some(format!("lab-pair{n}")),
        nics: vec![NicAttach::Bridge {
            bridge: br.name().to_owned(),
            netns: Some(ns.name().to_owned()),
        }],
        script: format!("ip addr add 10.214.0.{n}/24 dev eth0"),
        timeout: Duration::from_secs(180),
        ..VmConfig::default()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| boot(&image, cfg(1)));
        let b = s.spawn(|| boot(&image, cfg(2)));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_ne!(a.mac(0), b.mac(0));
    let out = a.run(&PING_UNTIL.replace("$TARGET", "10.214.0.2")).unwrap();
    assert!(out.success(), "a -> b: {out:?}");
    let out = b.run("ping -c1 -W2 10.214.0.1").unwrap();
    assert!(out.success(), "b -> a: {out:?}");
    let out = a.run("ip neigh show 10.214.0.2").unwrap();
    assert!(out.stdout.contains(b.mac(0).unwrap()), "{out:?}");
}
