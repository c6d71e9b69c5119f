//! Combinators over futures, as asyncio has them: gather, race, wait, as_completed, shield.
//! (Being written, issue 4.)
