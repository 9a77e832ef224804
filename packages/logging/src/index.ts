// Filled by its issue; this package has no behaviour yet.
export {};
