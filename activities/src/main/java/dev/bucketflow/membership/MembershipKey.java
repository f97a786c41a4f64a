package dev.bucketflow.membership;

public record MembershipKey(String userId, String bucketId) {}
