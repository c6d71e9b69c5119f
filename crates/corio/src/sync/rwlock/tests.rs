//! Unit tests of the lock and its guards. Runtime-free, so they run under Miri:
//! `cargo +nightly miri test -p corio --lib -- sync::rwlock`.

use super::*;
use std::future::Future;
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

fn poll_once<F: Future>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn readers_share_writer_excludes() {
    let lock = RwLock::new(0);
    let r1 = lock.try_read().unwrap();
    let r2 = lock.try_read().unwrap();
    assert!(lock.try_write().is_err());
    let mut writer = pin!(lock.write());
    assert!(poll_once(writer.as_mut()).is_pending());
    // A waiting writer holds back later readers.
    assert!(lock.try_read().is_err());
    let mut late_reader = pin!(lock.read());
    assert!(poll_once(late_reader.as_mut()).is_pending());
    drop(r1);
    assert!(poll_once(writer.as_mut()).is_pending(), "r2 still reads");
    drop(r2);
    let Poll::Ready(mut w) = poll_once(writer.as_mut()) else {
        panic!("the last reader lets the writer in");
    };
    *w += 1;
    assert!(poll_once(late_reader.as_mut()).is_pending());
    let r = RwLockWriteGuard::downgrade(w);
    let Poll::Ready(late) = poll_once(late_reader.as_mut()) else {
        panic!("downgrading lets readers in");
    };
    assert_eq!((*r, *late), (1, 1));
    assert!(lock.try_write().is_err());
    drop((r, late));
    assert!(lock.try_write().is_ok());
}

#[test]
fn owned_guards() {
    let lock = Arc::new(RwLock::with_max_readers(String::from("a"), 3));
    let mut w = lock.clone().try_write_owned().unwrap();
    w.push('b');
    assert!(lock.clone().try_read_owned().is_err());
    let r = OwnedRwLockWriteGuard::downgrade(w);
    let r2 = lock.clone().try_read_owned().unwrap();
    assert_eq!(format!("{r} {r2:?}"), "ab \"ab\"");
    assert_eq!(format!("{lock:?}"), "RwLock { data: \"ab\" }");
    drop((r, r2));
    let w = lock.clone().try_write_owned().unwrap();
    assert_eq!(format!("{lock:?}"), "RwLock { data: <locked> }");
    drop(w);
    let mut lock = Arc::into_inner(lock).unwrap();
    lock.get_mut().push('c');
    assert_eq!(lock.into_inner(), "abc");
}

#[test]
#[should_panic(expected = "admits between 1")]
fn zero_max_readers_panics() {
    let _ = RwLock::with_max_readers((), 0);
}

#[test]
fn auto_traits() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<RwLock<u8>>();
    send::<RwLock<std::cell::Cell<u8>>>();
    send_sync::<RwLockReadGuard<'_, u8>>();
    send_sync::<RwLockWriteGuard<'_, u8>>();
    send_sync::<OwnedRwLockReadGuard<u8>>();
    send_sync::<OwnedRwLockWriteGuard<u8>>();
}

#[test]
fn mapped_guards() {
    let lock = RwLock::new((String::from("a"), vec![1, 2]));
    {
        let name = RwLockReadGuard::map(lock.try_read().unwrap(), |pair| &pair.0);
        let first = RwLockReadGuard::try_map(lock.try_read().unwrap(), |pair| pair.1.first());
        assert_eq!((name.as_str(), *first.unwrap()), ("a", 1));
        let none = RwLockReadGuard::try_map(lock.try_read().unwrap(), |pair| pair.1.get(9));
        assert!(none.is_err());
        assert!(lock.try_write().is_err());
    }
    let mut items = RwLockWriteGuard::map(lock.try_write().unwrap(), |pair| &mut pair.1);
    items.push(3);
    let mut last = RwLockMappedWriteGuard::map(items, |items| items.last_mut().unwrap());
    *last = 30;
    assert!(
        lock.try_read().is_err(),
        "a mapped write guard still excludes readers"
    );
    drop(last);
    let whole = RwLockWriteGuard::into_mapped(lock.try_write().unwrap());
    let back = RwLockMappedWriteGuard::try_map(whole, |_| None::<&mut u8>).unwrap_err();
    drop(back);
    let writer = lock.try_write().unwrap();
    let writer = RwLockWriteGuard::try_map(writer, |_| None::<&mut u8>).unwrap_err();
    let name = RwLockWriteGuard::downgrade_map(writer, |pair| &pair.0);
    assert!(lock.try_read().is_ok(), "downgraded: readers share");
    assert_eq!(format!("{name} {name:?}"), "a \"a\"");
    drop(name);
    assert_eq!(lock.into_inner().1, [1, 2, 30]);
}

#[test]
fn owned_mapped_guards() {
    let lock = Arc::new(RwLock::new((1, String::from("x"))));
    let reader = OwnedRwLockReadGuard::map(lock.clone().try_read_owned().unwrap(), |p| &p.1);
    assert!(Arc::ptr_eq(OwnedRwLockReadGuard::rwlock(&reader), &lock));
    let reader = OwnedRwLockReadGuard::try_map(reader, |s| s.get(..1)).unwrap();
    assert_eq!(&*reader, "x");
    assert!(lock.clone().try_write_owned().is_err());
    drop(reader);
    let writer = lock.clone().try_write_owned().unwrap();
    assert!(Arc::ptr_eq(OwnedRwLockWriteGuard::rwlock(&writer), &lock));
    let mut number = OwnedRwLockWriteGuard::map(writer, |p| &mut p.0);
    *number += 1;
    let mut number = OwnedRwLockMappedWriteGuard::map(number, |n| n);
    *number += 1;
    assert!(Arc::ptr_eq(
        OwnedRwLockMappedWriteGuard::rwlock(&number),
        &lock
    ));
    assert!(OwnedRwLockMappedWriteGuard::try_map(number, |_| None::<&mut u8>).is_err());
    let whole = OwnedRwLockWriteGuard::into_mapped(lock.clone().try_write_owned().unwrap());
    assert_eq!(whole.0, 3);
    drop(whole);
    let writer = lock.clone().try_write_owned().unwrap();
    let writer = OwnedRwLockWriteGuard::try_map(writer, |_| None::<&mut u8>).unwrap_err();
    drop(writer);
    assert_eq!(Arc::strong_count(&lock), 1, "every guard let its Arc go");
}

#[test]
fn blocking_read_and_write_from_a_plain_thread() {
    let lock = Arc::new(RwLock::new(0));
    let reader = lock.clone().try_read_owned().unwrap();
    let writer = {
        let lock = lock.clone();
        std::thread::spawn(move || *lock.blocking_write() += 1)
    };
    while lock.try_read().is_ok() {
        std::thread::yield_now(); // until the writer queues
    }
    drop(reader);
    writer.join().unwrap();
    assert_eq!(*lock.blocking_read(), 1);
}
