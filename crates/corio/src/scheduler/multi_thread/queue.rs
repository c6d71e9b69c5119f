//! TEMPORARY stand-in for the lock-free work-stealing queue (same API, mutex inside).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

const CAPACITY: usize = 256;

pub(crate) trait Overflow<T> {
    fn push(&self, task: T);
    fn push_batch(&self, iter: impl Iterator<Item = T>);
}

pub(crate) struct Local<T> {
    inner: Arc<Mutex<VecDeque<T>>>,
}
pub(crate) struct Steal<T> {
    inner: Arc<Mutex<VecDeque<T>>>,
}

impl<T> Clone for Steal<T> {
    fn clone(&self) -> Self {
        Steal {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) fn local<T: 'static>() -> (Steal<T>, Local<T>) {
    let inner = Arc::new(Mutex::new(VecDeque::with_capacity(CAPACITY)));
    (
        Steal {
            inner: inner.clone(),
        },
        Local { inner },
    )
}

impl<T> Local<T> {
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().unwrap().len()
    }
    pub(crate) fn remaining_slots(&self) -> usize {
        CAPACITY - self.len()
    }
    pub(crate) fn has_tasks(&self) -> bool {
        self.len() > 0
    }
    pub(crate) fn push_back_or_overflow<O: Overflow<T>>(&mut self, task: T, overflow: &O) {
        let mut q = self.inner.lock().unwrap();
        if q.len() < CAPACITY {
            q.push_back(task);
            return;
        }
        let half: Vec<T> = q.drain(..CAPACITY / 2).collect();
        drop(q);
        overflow.push_batch(half.into_iter().chain(std::iter::once(task)));
    }
    pub(crate) fn pop(&mut self) -> Option<T> {
        self.inner.lock().unwrap().pop_front()
    }
}

impl<T> Steal<T> {
    pub(crate) fn is_empty(&self) -> bool {
        self.inner.lock().unwrap().is_empty()
    }
    pub(crate) fn steal_into(&self, dst: &mut Local<T>) -> Option<T> {
        if Arc::ptr_eq(&self.inner, &dst.inner) {
            return None;
        }
        let mut src = self.inner.lock().unwrap();
        let n = src.len().div_ceil(2);
        if n == 0 {
            return None;
        }
        let first = src.pop_front();
        let mut d = dst.inner.lock().unwrap();
        for _ in 1..n {
            if let Some(t) = src.pop_front() {
                d.push_back(t);
            }
        }
        first
    }
}
