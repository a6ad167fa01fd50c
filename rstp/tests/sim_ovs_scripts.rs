#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "test code"
)]
//! The `AT_DATA` scripts of Open vSwitch `tests/rstp.at` (openvswitch/ovs),
//! run unchanged by [`rstp::sim::run_script`]: every `check` line must hold.

use std::time::Instant;

use rstp::sim::run_script;

#[track_caller]
fn run(script: &str) {
    if let Err(e) = run_script(script, Instant::now()) {
        panic!("{e}");
    }
}

#[test]
fn rstp_num1() {
    run("bridge 0 0x111 = a b\nrun 1000\ncheck 0 = root\n");
}

#[test]
fn rstp_num2() {
    run("bridge 0 0x111 = a b
bridge 1 0x222 = a c
bridge 2 0x333 = b c
run 1000
check 0 = root
check 1 = F:200000 F
check 2 = F:200000 Di
# Link b goes down
bridge 2 = X c
run 1000
check 1 = F:200000 F
check 2 = D F:400000
");
}

#[test]
fn rstp_num3() {
    run("bridge 0 0x111 = a b
bridge 1 0x222 = a c d
bridge 2 0x333 = b c e
bridge 3 0x444 = d f
bridge 4 0x555 = e f
run 1000
check 0 = root
check 1 = F:200000 F F
check 2 = F:200000 Di F
check 3 = F:400000 F
check 4 = F:400000 Di
# Link b goes down
bridge 2 = X c e
run 1000
check 0 = root
check 1 = F:200000 F F
check 2 = D F:400000 F
check 3 = F:400000 F
check 4 = F:600000 Di
# Link e goes down
bridge 4 = X f
run 1000
check 0 = root
check 1 = F:200000 F F
check 2 = D F:400000 F
check 3 = F:400000 F
check 4 = D F:600000
# Link f cost changes
bridge 4 = X f:100000
run 1000
check 4 = D F:500000
# Bridge 4 becomes root and
bridge 4 ^ 31000
run 1000
check 4 = root
");
}

#[test]
fn ieee802_1d_2004_fig17_4() {
    run("bridge 0 0x111 = a b e c
bridge 1 0x222 = a b d f
bridge 2 0x333 = c d l j h g
bridge 3 0x444 = e f n m k i
bridge 4 0x555 = g i 0 0
bridge 5 0x666 = h k 0 0
bridge 6 0x777 = j m 0 0
bridge 7 0x888 = l n 0 0
run 1000
check 0 = root
check 1 = F:200000 Di F F
check 2 = F:200000 Di F F F F
check 3 = F:200000 Di F F F F
check 4 = F:400000 Di F F
check 5 = F:400000 Di F F
check 6 = F:400000 Di F F
check 7 = F:400000 Di F F

# Now connect two ports of bridge 7 to the same LAN.
bridge 7 = l n o o
# Same results except for bridge 7:
run 1000
check 0 = root
check 1 = F:200000 Di F F
check 2 = F:200000 Di F F F F
check 3 = F:200000 Di F F F F
check 4 = F:400000 Di F F
check 5 = F:400000 Di F F
check 6 = F:400000 Di F F
check 7 = F:400000 Di F Di
");
}

#[test]
fn ieee802_1d_2004_fig17_6() {
    run("bridge 0 0x111 = a b l
bridge 1 0x222 = b c d
bridge 2 0x333 = d e f
bridge 3 0x444 = f g h
bridge 4 0x555 = j h i
bridge 5 0x666 = l j k
run 1000
check 0 = root
check 1 = F:200000 F F
check 2 = F:400000 F F
check 3 = F:600000 F Di
check 4 = F:400000 F F
check 5 = F:200000 F F
");
}

#[test]
fn ieee802_1d_2004_fig17_7() {
    run("bridge 0 0x000 = b
bridge 1 0x111 = a b d f h g e c
bridge 2 0x222 = g h j l n m k i
run 1000
check 0 = root
check 1 = F F:200000 F F F F F F
check 2 = Di F:400000 F F F F F F
# Link g priority increment
bridge 1 = a b d f h g^112 e c
run 1000
check 0 = root
check 1 = F F:200000 F F F F F F
check 2 = F:400000 Di F F F F F F
");
}

#[test]
fn stp_op_3_3_rootid() {
    // From tests/stp.at, with RSTP costs (10 per hop becomes 200000).
    run("bridge 0 0x333^0x6000 = a
bridge 1 0x222^0x7000 = b
bridge 2 0x111 = a b
run 1000
check 0 = rootid:0x333^0x6000 root
check 1 = rootid:0x333^0x6000 F:400000
check 2 = rootid:0x333^0x6000 F:200000 F
");
}

#[test]
fn failing_checks_are_reported() {
    let err = run_script(
        "bridge 0 0x111 = a\nbridge 1 0x222 = a\nrun 1\ncheck 1 = root\n",
        Instant::now(),
    )
    .unwrap_err();
    assert!(err.starts_with("line 4 `check 1 = root`"), "{err}");
    let err = run_script(
        "bridge 0 0x111 = a\nrun 1\ncheck 0 = F:200000\n",
        Instant::now(),
    )
    .unwrap_err();
    assert!(err.contains("expected F:200000"), "{err}");
    assert!(run_script("bridge 1 0x111 = a\n", Instant::now()).is_err());
    assert!(run_script("frobnicate\n", Instant::now()).is_err());
}
