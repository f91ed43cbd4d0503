import { InitialSchema1764536400000 } from './1764536400000-initial-schema';
import { DeliveryState1764540000000 } from './1764540000000-delivery-state';
import { StrictOrdering1764543600000 } from './1764543600000-strict-ordering';
import { HeldDeliveries1764547200000 } from './1764547200000-held-deliveries';
import { HeldTaskBytes1764550800000 } from './1764550800000-held-task-bytes';
import { TaskBytesAndReplayLeases1764554400000 } from './1764554400000-task-bytes-and-replay-leases';
import { ReplicasAndEndpointHealth1764558000000 } from './1764558000000-replicas-and-endpoint-health';
import { IdempotencyKeys1764561600000 } from './1764561600000-idempotency-keys';
import { EventsFeed1764565200000 } from './1764565200000-events-feed';
import { ReplayJobs1764568800000 } from './1764568800000-replay-jobs';
import { NotificationWindows1764572400000 } from './1764572400000-notification-windows';
import { SealedEndpointHeaders1764579600000 } from './1764579600000-sealed-endpoint-headers';
import { AttemptRequest1764583200000 } from './1764583200000-attempt-request';
import { EventCatalogue1764576000000 } from './1764576000000-event-catalogue';
import { StrictOrderKeys1764669600000 } from './1764669600000-strict-order-keys';
import { ParkedDeliveryLookup1764756000000 } from './1764756000000-parked-delivery-lookup';
import { BlockRule1764842400000 } from './1764842400000-block-rule';
import { LaneHangs1764928800000 } from './1764928800000-lane-hangs';
import { UnreplayedDeadLetters1765015200000 } from './1765015200000-unreplayed-dead-letters';
import { ApiKeyNotices1765101600000 } from './1765101600000-api-key-notices';
import { PortalLinksNotBefore1765188000000 } from './1765188000000-portal-links-not-before';
import { FeedRetentionWatermark1765191600000 } from './1765191600000-feed-retention-watermark';
import { IdempotencyClaimToken1765274400000 } from './1765274400000-idempotency-claim-token';
import { HeldDeliveryIds1765360800000 } from './1765360800000-held-delivery-ids';
import { FeedTypeIndex1765447200000 } from './1765447200000-feed-type-index';
import { HeldDeliveryClaims1765533600000 } from './1765533600000-held-delivery-claims';
import { DeadLetterReplayClaims1765537200000 } from './1765537200000-dead-letter-replay-claims';
import { NotificationWindowClaims1765551600000 } from './1765551600000-notification-window-claims';
import { DeadLetterListOrder1765562400000 } from './1765562400000-dead-letter-list-order';

/** Every migration, in order. Listed by class so they load the same from ts-jest and from dist/. */
export const MIGRATIONS = [
  InitialSchema1764536400000,
  DeliveryState1764540000000,
  StrictOrdering1764543600000,
  HeldDeliveries1764547200000,
  HeldTaskBytes1764550800000,
  TaskBytesAndReplayLeases1764554400000,
  ReplicasAndEndpointHealth1764558000000,
  IdempotencyKeys1764561600000,
  EventsFeed1764565200000,
  ReplayJobs1764568800000,
  NotificationWindows1764572400000,
  EventCatalogue1764576000000,
  SealedEndpointHeaders1764579600000,
  AttemptRequest1764583200000,
  StrictOrderKeys1764669600000,
  ParkedDeliveryLookup1764756000000,
  BlockRule1764842400000,
  LaneHangs1764928800000,
  UnreplayedDeadLetters1765015200000,
  ApiKeyNotices1765101600000,
  PortalLinksNotBefore1765188000000,
  FeedRetentionWatermark1765191600000,
  IdempotencyClaimToken1765274400000,
  HeldDeliveryIds1765360800000,
  FeedTypeIndex1765447200000,
  HeldDeliveryClaims1765533600000,
  DeadLetterReplayClaims1765537200000,
  NotificationWindowClaims1765551600000,
  DeadLetterListOrder1765562400000,
];
