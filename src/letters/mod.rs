//! The letters the service writes, rendered from the officer-editable templates in `templates/`:
//! acknowledgements and the other letters to requesters (rendered when sent), and staff mail
//! (rendered when planned). Pure rendering once the templates are loaded.

pub mod compose;
pub mod staff;
