//! rtnetlink operations in namespaces, checked with `ip -j` (root only).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test code"
)]

use std::net::IpAddr;
use std::time::Duration;

use dsas_node::netlink::{LinkEvent, LinkEvents, Netlink, virtual_mac};
use serde_json::Value;
use testkit::{Netns, Veth, require_root};
use tokio::time::timeout;

fn ip_json(ns: &Netns, args: &[&str]) -> Value {
    let mut full = vec!["-j"];
    full.extend_from_slice(args);
    let out = ns.ip(&full).unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn addrs(ns: &Netns, dev: &str) -> Vec<Value> {
    ip_json(ns, &["addr", "show", "dev", dev])[0]["addr_info"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn addresses_links_and_vmac() {
    require_root!();
    let a = Netns::new("nl-a").unwrap();
    let b = Netns::new("nl-b").unwrap();
    let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
    veth.up().unwrap();
    let link = a.link(veth.a()).unwrap();
    a.enter_thread(|| {
        runtime().block_on(async {
            let nl = Netlink::connect().unwrap();
            let info = nl.link_by_name("veth0").await.unwrap();
            assert_eq!(info.index, link.ifindex);
            assert_eq!(info.mac, link.mac);
            assert!(info.admin_up);
            assert_eq!(nl.link_by_index(info.index).await.unwrap().name, "veth0");
            let err = nl.link_by_name("nope0").await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");

            let v4: IpAddr = "10.0.0.100".parse().unwrap();
            let v6: IpAddr = "2001:db8::100".parse().unwrap();
            nl.add_address(info.index, v4, 24).await.unwrap();
            nl.add_address(info.index, v6, 64).await.unwrap();
            let err = nl.add_address(info.index, v4, 24).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
            let shown = addrs(&a, "veth0");
            let find = |ip: &str| shown.iter().find(|x| x["local"] == ip).cloned();
            let a4 = find("10.0.0.100").expect("v4 VIP");
            assert_eq!(a4["prefixlen"], 24);
            let a6 = find("2001:db8::100").expect("v6 VIP");
            assert_eq!(a6["prefixlen"], 64);
            // nodad: usable at once, never tentative.
            assert_eq!(a6["nodad"], Value::Bool(true), "{a6}");
            assert!(a6.get("tentative").is_none(), "{a6}");
            let listed = nl.addresses(info.index).await.unwrap();
            assert!(
                listed.contains(&(v4, 24)) && listed.contains(&(v6, 64)),
                "{listed:?}"
            );

            nl.del_address(info.index, v4, 24).await.unwrap();
            nl.del_address(info.index, v6, 64).await.unwrap();
            let shown = addrs(&a, "veth0");
            assert!(
                !shown
                    .iter()
                    .any(|x| x["local"] == "10.0.0.100" || x["local"] == "2001:db8::100"),
                "{shown:?}"
            );
            let err = nl.del_address(info.index, v4, 24).await.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");

            // VMAC: macvlan, private mode, 00:00:5e:00:01:33.
            let vmac = nl
                .create_vmac("vrrp.51", info.index, virtual_mac(51, false))
                .await
                .unwrap();
            assert_eq!(vmac.mac, Some([0, 0, 0x5e, 0, 1, 51]));
            let shown = ip_json(&a, &["-d", "link", "show", "vrrp.51"]);
            let l = &shown[0];
            assert_eq!(l["address"], "00:00:5e:00:01:33");
            assert_eq!(l["link"], "veth0");
            assert_eq!(l["linkinfo"]["info_kind"], "macvlan");
            assert_eq!(l["linkinfo"]["info_data"]["mode"], "private");
            assert!(
                l["flags"].as_array().unwrap().iter().any(|f| f == "UP"),
                "{l}"
            );
            assert!(
                nl.create_vmac("vrrp.toolongname1", info.index, virtual_mac(1, true))
                    .await
                    .is_err()
            );
            nl.delete_link(vmac.index).await.unwrap();
            assert!(!a.has_link("vrrp.51"));
        });
    })
    .unwrap();
}

async fn wait_event(
    events: &mut LinkEvents,
    index: u32,
    pred: impl Fn(&dsas_node::netlink::LinkInfo) -> bool,
) -> dsas_node::netlink::LinkInfo {
    timeout(Duration::from_secs(5), async {
        loop {
            if let Some(LinkEvent::Changed(info)) = events.next().await
                && info.index == index
                && pred(&info)
            {
                return info;
            }
        }
    })
    .await
    .expect("link event")
}

#[test]
fn link_events_report_carrier_and_admin_state() {
    require_root!();
    let a = Netns::new("nle-a").unwrap();
    let b = Netns::new("nle-b").unwrap();
    let veth = Veth::new(&a, "veth0", &b, "veth0").unwrap();
    veth.up().unwrap();
    let index = a.link(veth.a()).unwrap().ifindex;
    a.enter_thread(|| {
        runtime().block_on(async {
            let nl = Netlink::connect().unwrap();
            testkit::wait_for(
                || a.link(veth.a()).unwrap().has_carrier(),
                Duration::from_secs(5),
            );
            let mut events = LinkEvents::subscribe().unwrap();
            // The peer going down takes our carrier away.
            b.link_down(veth.b()).unwrap();
            let info = wait_event(&mut events, index, |i| !i.carrier).await;
            assert!(info.admin_up && !info.is_up());
            assert_eq!(info.name, "veth0");
            b.link_up(veth.b()).unwrap();
            let info = wait_event(&mut events, index, |i| i.carrier).await;
            assert!(info.is_up());
            // Admin down through our own netlink request.
            nl.set_link_up(index, false).await.unwrap();
            let info = wait_event(&mut events, index, |i| !i.admin_up).await;
            assert!(!info.is_up());
            assert!(!a.link(veth.a()).unwrap().is_up());
            // Removal.
            a.ip(&["link", "add", "mv7", "link", "veth0", "type", "macvlan"])
                .unwrap();
            let d = a.link("mv7").unwrap().ifindex;
            a.ip(&["link", "del", "mv7"]).unwrap();
            let removed = timeout(Duration::from_secs(5), async {
                loop {
                    if let Some(LinkEvent::Removed { index, name }) = events.next().await
                        && index == d
                    {
                        return name;
                    }
                }
            })
            .await
            .unwrap();
            assert_eq!(removed, "mv7");
        });
    })
    .unwrap();
}
