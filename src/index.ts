export * from './constructs/glacier-vault-to-s3-transfer';
export * from './constructs/transfer-storage';
export * from './constructs/archive-retrieval';
export * from './core/transfer-options';
export * from './constructs/initiate-retrieval';
export * from './constructs/download-window-extension';
