import { Module } from '@nestjs/common';
import { ReplicaRegistry } from './replica-registry';

/** The replicas of one Hookstream and this process among them (src/cluster/replica-registry.ts). */
@Module({
  providers: [ReplicaRegistry],
  exports: [ReplicaRegistry],
})
export class ClusterModule {}
