//! The closed label sets of docs/TAXONOMY.md that the decision itself chooses between. Topics and
//! complaint types are open: a rules file declares them.

crate::closed_set! {
    /// What kind of voice an interaction is (exactly one).
    pub enum VoiceType("voice type") {
        Complaint = "complaint",
        Request = "request",
        Question = "question",
        Procedure = "procedure",
        Praise = "praise",
        Other = "other",
    }
}

crate::closed_set! {
    /// The customer's overall polarity (exactly one).
    pub enum Sentiment("sentiment") {
        Negative = "negative",
        Neutral = "neutral",
        Positive = "positive",
    }
}
