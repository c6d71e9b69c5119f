//! Unit tests of the mutex and its guards. Runtime-free, so they run under Miri:
//! `cargo +nightly miri test -p corio --lib -- sync::mutex`.

use super::*;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn guard_gives_exclusive_access() {
    let mutex = Mutex::new(vec![1]);
    {
        let mut guard = mutex.try_lock().unwrap();
        guard.push(2);
        assert!(mutex.try_lock().is_err());
        let mut waiting = pin!(mutex.lock());
        assert!(poll_once(waiting.as_mut()).is_pending());
        drop(guard);
        let Poll::Ready(mut guard) = poll_once(waiting.as_mut()) else {
            panic!("unlocking hands the lock to the waiter");
        };
        guard.push(3);
    }
    assert_eq!(mutex.into_inner(), [1, 2, 3]);
}

#[test]
fn mapped_guard_unlocks() {
    let mutex = Mutex::new((String::from("a"), 1));
    let mut name = MutexGuard::map(mutex.try_lock().unwrap(), |pair| &mut pair.0);
    name.push('b');
    assert!(mutex.try_lock().is_err());
    drop(name);
    let guard = mutex.try_lock().unwrap();
    let guard = MutexGuard::try_map(guard, |_| None::<&mut u8>).unwrap_err();
    assert_eq!(guard.0, "ab");
    drop(guard);
    assert!(mutex.try_lock().is_ok());
}

#[test]
fn owned_guard_and_get_mut() {
    let mut mutex = Mutex::new(5);
    *mutex.get_mut() += 1;
    let mutex = Arc::new(mutex);
    let mut guard = mutex.clone().try_lock_owned().unwrap();
    *guard += 1;
    assert!(Arc::ptr_eq(OwnedMutexGuard::mutex(&guard), &mutex));
    assert!(mutex.clone().try_lock_owned().is_err());
    assert_eq!(format!("{mutex:?}"), "Mutex { data: <locked> }");
    assert_eq!(format!("{guard:?} {guard}"), "7 7");
    drop(guard);
    assert_eq!(format!("{mutex:?}"), "Mutex { data: 7 }");
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Mutex<std::cell::Cell<u8>>>();
    send::<MutexGuard<'_, std::cell::Cell<u8>>>();
    send::<OwnedMutexGuard<std::cell::Cell<u8>>>();
    send_sync::<MutexGuard<'_, u8>>();
    send_sync::<MappedMutexGuard<'_, u8>>();
}

#[test]
fn owned_mapped_guards() {
    let mutex = Arc::new(Mutex::new((1, vec![1, 2])));
    let guard = mutex.clone().try_lock_owned().unwrap();
    let mut items = OwnedMutexGuard::map(guard, |pair| &mut pair.1);
    items.push(3);
    assert!(Arc::ptr_eq(OwnedMappedMutexGuard::mutex(&items), &mutex));
    assert!(mutex.try_lock().is_err());
    let mut last = OwnedMappedMutexGuard::map(items, |items| items.last_mut().unwrap());
    *last = 30;
    let last = OwnedMappedMutexGuard::try_map(last, |_| None::<&mut u8>).unwrap_err();
    assert_eq!(format!("{last} {last:?}"), "30 30");
    drop(last);
    let guard = mutex.clone().try_lock_owned().unwrap();
    let guard = OwnedMutexGuard::try_map(guard, |_| None::<&mut u8>).unwrap_err();
    let mut first = OwnedMutexGuard::try_map(guard, |pair| pair.1.first_mut()).unwrap();
    *first = 10;
    let first = OwnedMappedMutexGuard::try_map(first, |n| Some(n)).unwrap();
    drop(first);
    assert_eq!(Arc::strong_count(&mutex), 1, "every guard let its Arc go");
    assert_eq!(
        Arc::into_inner(mutex).unwrap().into_inner(),
        (1, vec![10, 2, 30])
    );
}

#[test]
fn mapped_guard_maps_again() {
    let mutex = Mutex::new([1, 2, 3]);
    let all = MutexGuard::map(mutex.try_lock().unwrap(), |a| &mut a[..]);
    let mut tail = MappedMutexGuard::map(all, |a| &mut a[1..]);
    tail[0] = 20;
    let tail = MappedMutexGuard::try_map(tail, |_| None::<&mut u8>).unwrap_err();
    let mut last = MappedMutexGuard::try_map(tail, |a| a.last_mut()).unwrap();
    *last = 30;
    assert!(mutex.try_lock().is_err());
    drop(last);
    assert_eq!(mutex.into_inner(), [1, 20, 30]);
}

#[test]
fn blocking_lock_from_plain_threads() {
    let mutex = Arc::new(Mutex::new(0));
    let threads: Vec<_> = (0..3)
        .map(|i| {
            let mutex = mutex.clone();
            std::thread::spawn(move || {
                for _ in 0..10 {
                    if i == 0 {
                        *mutex.clone().blocking_lock_owned() += 1;
                    } else {
                        *mutex.blocking_lock() += 1;
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(*mutex.blocking_lock(), 30);
}
