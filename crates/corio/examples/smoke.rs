fn main() {
    for rt in [
        corio::runtime::Builder::new_current_thread()
            .build()
            .unwrap(),
        corio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap(),
    ] {
        let t = std::time::Instant::now();
        let n = rt.block_on(async {
            let mut hs = Vec::new();
            for i in 0..100_000u64 {
                hs.push(corio::spawn(async move {
                    corio::task::yield_now().await;
                    i
                }));
            }
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        });
        assert_eq!(n, (0..100_000u64).sum());
        let p = rt.block_on(async { corio::spawn(async { panic!("x") }).await });
        assert!(p.unwrap_err().is_panic());
        println!("{:?} ok {:?}", rt, t.elapsed());
    }
}
