//! What the workflow planners know from the configuration: the routing file, the reply-address
//! keys, the shared address and the workflow settings. Borrowed: the app owns them and reloads them.

use crate::config::{MachineMailSettings, WorkflowConfig};
use crate::core::actions::{self, ReplyKeys, StaffDirectory};
use crate::core::routing::Routing;
use crate::model::case::CaseRef;

/// The configuration the assignment, command and tick planners read.
#[derive(Clone, Copy)]
pub struct Office<'a> {
    /// Teams, members and routes.
    pub routing: &'a Routing,
    /// Sign the reply addresses staff send commands to (newest first).
    pub keys: &'a ReplyKeys,
    /// The shared mailbox address (the reply addresses are its sub-addresses).
    pub shared_address: &'a str,
    /// Chasers, digests, repeat detection.
    pub settings: &'a WorkflowConfig,
    /// Who gets the daily machine-mail list, and how long records are kept.
    pub machine_mail: &'a MachineMailSettings,
}

impl std::fmt::Debug for Office<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Office")
            .field("shared_address", &self.shared_address)
            .finish_non_exhaustive()
    }
}

impl Office<'_> {
    /// The address `recipient` (a member of staff) replies to with commands for this case: good
    /// for that case, from that address only ([`actions::token`]).
    pub fn command_address(&self, reference: &CaseRef, recipient: &str) -> Option<String> {
        actions::reply_address(self.shared_address, reference, recipient, self.keys).ok()
    }

    /// The `Reply-To` of a staff letter about a case: the command address of its first recipient,
    /// the person it is addressed to (an assignee, a chased officer, a command's sender). Copies
    /// (a team inbox, a manager in Cc) see the same address but cannot use it: it is bound to
    /// someone else.
    pub fn letter_reply_to(&self, reference: &CaseRef, to: &[String]) -> Option<String> {
        self.command_address(reference, to.first()?)
    }

    /// The address `recipient` sends `#open` to, to open machine-mail record `id` as a case
    /// (from that address only: [`actions::token`]).
    pub fn machine_address(
        &self,
        id: &crate::model::machine::MachineMailId,
        recipient: &str,
    ) -> Option<String> {
        actions::machine_reply_address(self.shared_address, id, recipient, self.keys).ok()
    }

    /// A staff handle (`alice`, `@alice`) or staff address, resolved to the address on the
    /// routing file; `None` for anyone not on it.
    pub fn resolve(&self, handle: &str) -> Option<String> {
        let h = handle.trim().trim_start_matches('@');
        self.routing
            .member_by_handle(h)
            .map(|m| m.address.clone())
            .or_else(|| self.routing.member_by_address(h).map(|m| m.address.clone()))
    }
}

impl StaffDirectory for Office<'_> {
    fn resolve(&self, handle: &str) -> Option<String> {
        Office::resolve(self, handle)
    }
}
