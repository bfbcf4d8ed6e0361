/**
 * proximal: reinforcement learning in TypeScript. This file is the public API and nothing else. It
 * bundles for browsers: nothing it reaches imports a Node built-in (src/browserBundle.test.ts checks).
 * Node-only helpers live in node.ts ("proximal/node").
 */

// distributions
export { Categorical } from "./distributions/categorical.js";
export type { CategoricalProjectionInputs } from "./distributions/categoricalReturns.js";
export {
  categoricalCrossEntropy,
  categoricalProjection,
  categoricalSupport,
} from "./distributions/categoricalReturns.js";
export { DiagGaussian } from "./distributions/diagGaussian.js";
export type { Distribution } from "./distributions/distribution.js";
export { MultiCategorical } from "./distributions/multiCategorical.js";
export type { BipedalWalkerOptions } from "./envs/box2d/bipedalWalker.js";
// envs
export { BipedalWalkerEnv, BipedalWalkerHeuristics } from "./envs/box2d/bipedalWalker.js";
export type { LunarLanderOptions } from "./envs/box2d/lunarLander.js";
export { LunarLanderEnv, lunarLanderHeuristic } from "./envs/box2d/lunarLander.js";
export { AcrobotEnv } from "./envs/classic/acrobot.js";
export type { BatchedClassicOptions } from "./envs/classic/batchedClassicEnv.js";
export { BatchedClassicEnv } from "./envs/classic/batchedClassicEnv.js";
export type { CartPoleOptions } from "./envs/classic/cartPole.js";
export { CartPoleEnv } from "./envs/classic/cartPole.js";
export type { ClassicControlOptions } from "./envs/classic/classicControlEnv.js";
export { ClassicControlEnv } from "./envs/classic/classicControlEnv.js";
export type { ClassicKernel } from "./envs/classic/classicKernel.js";
export type { MountainCarOptions } from "./envs/classic/mountainCar.js";
export { MountainCarEnv } from "./envs/classic/mountainCar.js";
export type { MountainCarContinuousOptions } from "./envs/classic/mountainCarContinuous.js";
export { MountainCarContinuousEnv } from "./envs/classic/mountainCarContinuous.js";
export type { PendulumOptions } from "./envs/classic/pendulum.js";
export { PendulumEnv } from "./envs/classic/pendulum.js";
export type {
  Env,
  EnvMetadata,
  EnvSpec,
  Info,
  RenderFrame,
  RenderMode,
  ResetOptions,
  ResetResult,
  StepResult,
} from "./envs/env.js";
export type { MakeOptions } from "./envs/make.js";
export { make } from "./envs/make.js";
export type { EnvRegistration, RegistryEntry, VectorEntryOptions } from "./envs/registry.js";
export { register, registry } from "./envs/registry.js";
export type { CanvasLike } from "./envs/render/renderToCanvas.js";
export { renderToCanvas, rgbToRgba } from "./envs/render/renderToCanvas.js";
export type { BoxArray, BoxDtype } from "./envs/spaces/box.js";
export { Box } from "./envs/spaces/box.js";
export { Dict } from "./envs/spaces/dict.js";
export { Discrete } from "./envs/spaces/discrete.js";
export { flatSize } from "./envs/spaces/flatten.js";
export { MultiBinary } from "./envs/spaces/multiBinary.js";
export { MultiDiscrete } from "./envs/spaces/multiDiscrete.js";
export type { Space, SpaceDescription } from "./envs/spaces/space.js";
export { spaceFromJSON } from "./envs/spaces/spaceFromJSON.js";
export { Tuple } from "./envs/spaces/tuple.js";
export type {
  BlackjackHands,
  BlackjackObservation,
  BlackjackOptions,
  BlackjackState,
} from "./envs/toyText/blackjack.js";
export { BlackjackEnv, handValue, isNatural, usableAce } from "./envs/toyText/blackjack.js";
export { categoricalSample } from "./envs/toyText/categoricalSample.js";
export type { CliffWalkingOptions } from "./envs/toyText/cliffWalking.js";
export { CliffWalkingEnv } from "./envs/toyText/cliffWalking.js";
export type { FrozenLakeOptions } from "./envs/toyText/frozenLake.js";
export { FrozenLakeEnv, frozenLakeMaps, generateRandomMap } from "./envs/toyText/frozenLake.js";
export type { TaxiOptions } from "./envs/toyText/taxi.js";
export { TaxiEnv, taxiDecode, taxiEncode } from "./envs/toyText/taxi.js";
export type { ToyTextOptions } from "./envs/toyText/toyTextOptions.js";
export type {
  Transition,
  TransitionTable,
  TransitionTableEnvState,
} from "./envs/toyText/transitionTableEnv.js";
export { TransitionTableEnv } from "./envs/toyText/transitionTableEnv.js";
export type { AsyncVectorOptions } from "./envs/vector/asyncVectorEnv.js";
export { AsyncVectorEnv } from "./envs/vector/asyncVectorEnv.js";
export type { SyncVectorOptions } from "./envs/vector/syncVectorEnv.js";
export { SyncVectorEnv } from "./envs/vector/syncVectorEnv.js";
export type {
  AutoresetMode,
  VectorEnv,
  VectorInfos,
  VectorResetOptions,
  VectorResetResult,
  VectorStepResult,
} from "./envs/vector/vectorEnv.js";
export { isVectorEnv } from "./envs/vector/vectorEnv.js";
export { VectorNormalizeObservation } from "./envs/vector/vectorNormalizeObservation.js";
export { VectorNormalizeReward } from "./envs/vector/vectorNormalizeReward.js";
export { VectorRecordEpisodeStatistics } from "./envs/vector/vectorRecordEpisodeStatistics.js";
export { VectorWrapper } from "./envs/vector/vectorWrapper.js";
export { ActionMasking } from "./envs/wrappers/actionMasking.js";
export { ClipAction } from "./envs/wrappers/clipAction.js";
export type { CurriculumOptions, CurriculumState, EpisodeOutcome } from "./envs/wrappers/curriculum.js";
export { Curriculum, CurriculumSchedule } from "./envs/wrappers/curriculum.js";
export { NormalizeObservation } from "./envs/wrappers/normalizeObservation.js";
export { NormalizeReward } from "./envs/wrappers/normalizeReward.js";
export { OrderEnforcing } from "./envs/wrappers/orderEnforcing.js";
export type { PotentialShapingOptions } from "./envs/wrappers/potentialShaping.js";
export { PotentialShaping, shapeTransitionTable, shapingReward } from "./envs/wrappers/potentialShaping.js";
export type { EpisodeRecord } from "./envs/wrappers/recordEpisodeStatistics.js";
export { RecordEpisodeStatistics } from "./envs/wrappers/recordEpisodeStatistics.js";
export { RescaleAction } from "./envs/wrappers/rescaleAction.js";
export type { RunningMeanStdState } from "./envs/wrappers/runningMeanStd.js";
export { RunningMeanStd } from "./envs/wrappers/runningMeanStd.js";
export { TimeLimit } from "./envs/wrappers/timeLimit.js";
export { TransformObservation } from "./envs/wrappers/transformObservation.js";
export { TransformReward } from "./envs/wrappers/transformReward.js";
export { Wrapper } from "./envs/wrappers/wrapper.js";
export type { ErrorCode } from "./errors.js";
export { ProximalError } from "./errors.js";
export { IndexedDBModelFiles } from "./io/indexedDbModelFiles.js";
export type { ModelFiles, ModelSource, ModelTarget } from "./io/modelFiles.js";
export { ModelArchive } from "./io/modelFiles.js";
// io
export type { ExportOnnxOptions, OnnxExportable } from "./io/onnx/exportOnnx.js";
export { exportOnnx } from "./io/onnx/exportOnnx.js";
export type { OnnxObservationNormalization } from "./io/onnx/policyGraph.js";
export type { PeftLoraConfig, SaveLoraAdapterOptions } from "./io/peftAdapter.js";
export {
  ADAPTER_CONFIG_FILE,
  ADAPTER_SAFETENSORS_FILE,
  loadLoraAdapter,
  parsePeftLoraConfig,
  saveLoraAdapter,
} from "./io/peftAdapter.js";
export type { Pretrained, PretrainedModel, SavePretrainedOptions } from "./io/pretrained.js";
export {
  generationOptionsFromHf,
  hfConfigOf,
  hfTensorsOf,
  loadPretrained,
  modelFromHf,
  readPretrainedTensors,
  savePretrained,
} from "./io/pretrained.js";
export type {
  SafetensorDtype,
  SafetensorEntry,
  SafetensorsContents,
  WriteSafetensorsOptions,
} from "./io/safetensors.js";
export { MAX_SAFETENSORS_HEADER_BYTES, readSafetensors, writeSafetensors } from "./io/safetensors.js";
export type { TarEntry } from "./io/tar.js";
export { readTar, writeTar } from "./io/tar.js";
export type { MultiHeadSelfAttentionOptions } from "./nn/attention.js";
export { KVCache, MultiHeadSelfAttention } from "./nn/attention.js";
export { Dropout } from "./nn/dropout.js";
export type { EmbeddingOptions } from "./nn/embedding.js";
// nn
export { Embedding } from "./nn/embedding.js";
/** Parameter initialisers, in place, as `torch.nn.init` (`normal_`, `uniform_`, `orthogonal`, ...). */
export * as init from "./nn/init.js";
export type { LayerNormOptions } from "./nn/layerNorm.js";
export { LayerNorm } from "./nn/layerNorm.js";
export type { LinearAdapter, LinearInit, LinearOptions } from "./nn/linear.js";
export { Linear } from "./nn/linear.js";
export type { LoraConfig, LoraTargetModules, ResolvedLoraConfig } from "./nn/lora.js";
export {
  applyLora,
  hasLora,
  LoraAdapter,
  linearLayers,
  loraAdapters,
  loraScaling,
  loraTargetNames,
  mergeLora,
  resolveLoraConfig,
  unloadLora,
  withLoraDisabled,
} from "./nn/lora.js";
export type { Activation, MLPOptions } from "./nn/mlp.js";
export { applyActivation, MLP } from "./nn/mlp.js";
export type { CausalLMCache, CausalLMForwardOptions, CausalLMOutput } from "./nn/models/causalLm.js";
export type { HfConfigJson } from "./nn/models/hfConfig.js";
export { llamaConfigFromHf, llamaConfigToHf } from "./nn/models/hfConfig.js";
export type { LlamaConfig, LlamaModelType, ResolvedLlamaConfig } from "./nn/models/llama.js";
export { LlamaForCausalLM } from "./nn/models/llama.js";
export type { LoadStateDictOptions, LoadStateDictResult } from "./nn/module.js";
export { Module } from "./nn/module.js";
export { ModuleList } from "./nn/moduleList.js";
export type { NoisyLinearOptions } from "./nn/noisyLinear.js";
export { NoisyLinear, noisyLayers, scaleNoise } from "./nn/noisyLinear.js";
export { RMSNorm, rmsNorm } from "./nn/rmsNorm.js";
export type { Llama3RopeScaling, RopeTables } from "./nn/rotaryEmbedding.js";
export { applyRotaryEmbedding, ropeInverseFrequencies, ropeTables } from "./nn/rotaryEmbedding.js";
export type { AdamOptions } from "./optim/adam.js";
// optim
export { Adam, AdamW } from "./optim/adam.js";
export type { ClipGradNormOptions } from "./optim/clipGradNorm.js";
export { clipGradNorm } from "./optim/clipGradNorm.js";
export type {
  BaseOptimizerOptions,
  OptimizerState,
  OptimizerStateJson,
  ParamGroup,
  ParamGroupInput,
  ParamState,
  ParamsInput,
} from "./optim/optimizer.js";
export { Optimizer } from "./optim/optimizer.js";
export type { RMSpropOptions } from "./optim/rmsprop.js";
export { RMSprop } from "./optim/rmsprop.js";
export type { Schedule } from "./optim/schedules.js";
export {
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  linearWarmup,
  toSchedule,
  warmupThenCosine,
} from "./optim/schedules.js";
export type { SGDOptions } from "./optim/sgd.js";
export { SGD } from "./optim/sgd.js";
export type { RngState } from "./random/rng.js";
export { Rng } from "./random/rng.js";
export type { A2CLossInputs, A2COptions } from "./rl/a2c.js";
export { A2C, a2cLoss, entropyLoss, policyGradientLoss, valueMseLoss } from "./rl/a2c.js";
export type { A3COptions } from "./rl/a3c.js";
export { A3C } from "./rl/a3c.js";
export type { ActorCriticOptions } from "./rl/actorCritic.js";
export { ActorCritic, QCriticPolicy, qActorLoss, sarsaCriticLoss, sarsaTargets } from "./rl/actorCritic.js";
export type { ActionNoiseOptions } from "./rl/common/actionNoise.js";
export { ActionNoise } from "./rl/common/actionNoise.js";
export { scaleAction, unscaleAction } from "./rl/common/actionScaling.js";
export type { Algorithm } from "./rl/common/algorithm.js";
export type { ClippedDoubleQInputs } from "./rl/common/continuousLosses.js";
export {
  clippedDoubleQTargets,
  continuousCriticLoss,
  deterministicActorLoss,
  entCoefLoss,
  polyakUpdate,
  sacActorLoss,
  smoothTargetActions,
  squashedGaussianLogProb,
  squashedGaussianSample,
} from "./rl/common/continuousLosses.js";
export type { ContinuousPolicyOptions } from "./rl/common/continuousPolicies.js";
export type { DeepQOptions, DistributionalOptions, QuantileOptions } from "./rl/common/deepQAlgorithm.js";
export { DeepQAlgorithm } from "./rl/common/deepQAlgorithm.js";
export type { DeterministicActorCriticOptions } from "./rl/common/deterministicActorCritic.js";
export { TD3Policy } from "./rl/common/deterministicActorCritic.js";
export {
  DistributionalActorCriticPolicy,
  DistributionalCritic,
} from "./rl/common/distributionalActorCritic.js";
export type { DistributionalCriticInputs } from "./rl/common/distributionalLosses.js";
export {
  categoricalMeans,
  distributionalActorLoss,
  distributionalCriticLoss,
} from "./rl/common/distributionalLosses.js";
export type { EvaluateOptions, EvaluationResult, Predictor } from "./rl/common/evaluation.js";
export { evaluatePolicy } from "./rl/common/evaluation.js";
export type { GaeInputs } from "./rl/common/gae.js";
// rl
export { computeGae, discountedReturns, explainedVariance } from "./rl/common/gae.js";
export type {
  OffPolicyDefaults,
  OffPolicyNetwork,
  OffPolicyOptions,
} from "./rl/common/offPolicyAlgorithm.js";
export { loadOffPolicyAlgorithm, OffPolicyAlgorithm } from "./rl/common/offPolicyAlgorithm.js";
export type {
  EnvInput,
  LearnOptions,
  LoadOptions,
  OnPolicyOptions,
  PolicyFactory,
  UpdateStats,
} from "./rl/common/onPolicyAlgorithm.js";
export { OnPolicyAlgorithm } from "./rl/common/onPolicyAlgorithm.js";
export type { NetArch, PolicyOptions } from "./rl/common/policies.js";
export { ActorCriticPolicy } from "./rl/common/policies.js";
export type { QNetworkVariant, QPolicyOptions } from "./rl/common/qPolicy.js";
export { greedyActions, QNetwork, QPolicy } from "./rl/common/qPolicy.js";
export { RolloutBuffer } from "./rl/common/rolloutBuffer.js";
export type { ScheduleLike, ScheduleSpec } from "./rl/common/scheduleSpec.js";
export type { D4PGOptions } from "./rl/d4pg.js";
export { D4PG } from "./rl/d4pg.js";
export type { DDPGOptions } from "./rl/ddpg.js";
export { DDPG } from "./rl/ddpg.js";
export type { VtraceInputs, VtraceOutputs } from "./rl/distributed/common/vtrace.js";
export { computeVtrace } from "./rl/distributed/common/vtrace.js";
export type { DQNOptions, TdTargetInputs } from "./rl/dqn.js";
export {
  DQN,
  huberLoss,
  linearExplorationSchedule,
  quantileHuberLoss,
  quantileTargets,
  tdTargets,
} from "./rl/dqn.js";
export type { BCOptions } from "./rl/imitation/bc.js";
export { BC, splitByEpisode } from "./rl/imitation/bc.js";
export type { CloningLoss } from "./rl/imitation/common/cloningLosses.js";
export { meanSquaredActionLoss, negativeLogLikelihoodLoss } from "./rl/imitation/common/cloningLosses.js";
export type { DemonstrationSource, PolicyLearnerOptions } from "./rl/imitation/common/policyLearner.js";
export { PolicyLearner } from "./rl/imitation/common/policyLearner.js";
export type { DAggerOptions } from "./rl/imitation/dagger.js";
export { DAgger, daggerBeta } from "./rl/imitation/dagger.js";
export type {
  LoadDemonstrationsOptions,
  SaveDemonstrationsOptions,
} from "./rl/imitation/demonstrationFiles.js";
export { loadDemonstrations, saveDemonstrations } from "./rl/imitation/demonstrationFiles.js";
export type { Demonstrations, RecordOptions, Transitions } from "./rl/imitation/demonstrations.js";
export {
  checkDemonstrationSpaces,
  recordDemonstrations,
  transitionsOf,
} from "./rl/imitation/demonstrations.js";
export type { DiscriminatorOptions } from "./rl/imitation/discriminator.js";
export { Discriminator } from "./rl/imitation/discriminator.js";
export type { PairReward } from "./rl/imitation/discriminatorRewardEnv.js";
export { DiscriminatorRewardEnv } from "./rl/imitation/discriminatorRewardEnv.js";
export type { AdversarialReward, GAILOptions } from "./rl/imitation/gail.js";
export { discriminatorLoss, GAIL, gailReward, logitReward } from "./rl/imitation/gail.js";
export { ICM, icmForwardLoss, icmIntrinsicReward, icmInverseLoss, icmLoss } from "./rl/intrinsic/icm.js";
export type {
  IntrinsicRewardModule,
  IntrinsicRewardOptions,
  IntrinsicState,
  ResolvedIntrinsicOptions,
} from "./rl/intrinsic/intrinsicReward.js";
export { IntrinsicReturnNormalizer, resolveIntrinsicOptions } from "./rl/intrinsic/intrinsicReward.js";
export { combineAdvantages } from "./rl/intrinsic/intrinsicRollout.js";
export { RND, rndIntrinsicReward, rndPredictorLoss } from "./rl/intrinsic/rnd.js";
export type { PPOOptions } from "./rl/ppo.js";
export { adaptKlCoef, clippedSurrogateLoss, klPenaltyLoss, PPO, valueLoss } from "./rl/ppo.js";
export type { NormalizeSpec, Preset } from "./rl/presets.js";
export {
  listPresets,
  loadPreset,
  loadPresetFile,
  parsePresetText,
  parseScheduleValue,
} from "./rl/presets.js";
export type { RainbowOptions } from "./rl/rainbow.js";
export { Rainbow } from "./rl/rainbow.js";
export type { REINFORCEOptions, ReinforceBaseline } from "./rl/reinforce.js";
export { episodeReturns, REINFORCE, reinforceLoss } from "./rl/reinforce.js";
export type { NStepAdderOptions, VectorStep } from "./rl/replay/nStepAdder.js";
export { NStepAdder } from "./rl/replay/nStepAdder.js";
export type {
  PrioritizedReplayBufferOptions,
  PrioritizedReplaySample,
} from "./rl/replay/prioritizedReplayBuffer.js";
export { betaSchedule, PrioritizedReplayBuffer } from "./rl/replay/prioritizedReplayBuffer.js";
export type {
  ReplayBufferOptions,
  ReplaySample,
  ReplayState,
  TransitionBatch,
} from "./rl/replay/replayBuffer.js";
export { ReplayBuffer } from "./rl/replay/replayBuffer.js";
export { MinTree, SumTree } from "./rl/replay/sumTree.js";
export type { SACOptions } from "./rl/sac.js";
export { SAC, SACPolicy } from "./rl/sac.js";
export type { DynamicProgrammingOptions, DynamicProgrammingResult } from "./rl/tabular/dynamicProgramming.js";
export {
  actionValue,
  actionValues,
  policyEvaluation,
  policyIteration,
  valueIteration,
} from "./rl/tabular/dynamicProgramming.js";
export type { ActionMask } from "./rl/tabular/epsilonGreedy.js";
export {
  epsilonGreedyAction,
  epsilonGreedyProbabilities,
  greedyAction,
  maxActionValue,
} from "./rl/tabular/epsilonGreedy.js";
export type { ExpectedSarsaOptions } from "./rl/tabular/expectedSarsa.js";
export { ExpectedSarsa, expectedSarsaUpdate } from "./rl/tabular/expectedSarsa.js";
export type { QLearningOptions } from "./rl/tabular/qLearning.js";
export { QLearning, qLearningUpdate } from "./rl/tabular/qLearning.js";
export type { SarsaOptions } from "./rl/tabular/sarsa.js";
export { Sarsa, sarsaUpdate } from "./rl/tabular/sarsa.js";
export type {
  TabularLearnOptions,
  TabularLoadOptions,
  TabularOptions,
  TabularTransition,
} from "./rl/tabular/tabularAlgorithm.js";
export { linearExploration, TabularAlgorithm } from "./rl/tabular/tabularAlgorithm.js";
export type { TD3Options } from "./rl/td3.js";
export { TD3 } from "./rl/td3.js";
export type { ConjugateGradientResult, LineSearchOptions, LineSearchResult, TRPOOptions } from "./rl/trpo.js";
export {
  backtrackingLineSearch,
  conjugateGradient,
  detachedDistribution,
  fisherVectorProduct,
  maxStepSize,
  surrogateObjective,
  TRPO,
} from "./rl/trpo.js";
export type {
  BpeTrainOptions,
  ByteLevelBPETokenizerOptions,
  TokenizerJson,
} from "./rlhf/byteLevelBpeTokenizer.js";
// rlhf: language-model stack
export {
  BYTE_TO_UNICODE,
  ByteLevelBPETokenizer,
  GPT2_PRETOKENIZE_REGEX,
  gpt2FilesToTokenizerJson,
} from "./rlhf/byteLevelBpeTokenizer.js";
export type { CharTokenizerOptions } from "./rlhf/charTokenizer.js";
export { CharTokenizer } from "./rlhf/charTokenizer.js";
export {
  approxKl,
  clippedTokenLoss,
  maskedLogRatio,
  maskedTokenMean,
  tokenRatio,
} from "./rlhf/common/clippedSurrogate.js";
export type {
  JsonlFormats,
  PreferenceRow,
  PromptResponseRow,
  PromptRow,
  UnpairedPreferenceRow,
} from "./rlhf/common/data.js";
// rlhf: trainers
export { parseJsonl, readJsonl } from "./rlhf/common/data.js";
export type { KlEstimator } from "./rlhf/common/kl.js";
// klPerToken: the name PPO gave the per-token estimator before the one in rlhf/common/kl.ts
export {
  KL_ESTIMATORS,
  klEstimate,
  klEstimateValue,
  klEstimateValue as klPerToken,
  tokenKl,
} from "./rlhf/common/kl.js";
export type { TokenLogProbsOptions } from "./rlhf/common/logProbs.js";
export {
  logProbsFromLogits,
  responseLogProbs,
  responseValues,
  sequenceLogProb,
  tokenLogProbs,
} from "./rlhf/common/logProbs.js";
export { MetricWindow } from "./rlhf/common/metricWindow.js";
export type { PolicyArchitecture, PolicyModel } from "./rlhf/common/policyModel.js";
export {
  cloneModel,
  contextLength,
  modelFromArchitecture,
  policyArchitecture,
} from "./rlhf/common/policyModel.js";
export { preferenceAccuracy } from "./rlhf/common/preferenceAccuracy.js";
export type { ReferencePolicy } from "./rlhf/common/referenceModel.js";
export {
  defaultReference,
  frozenCopy,
  LoraBaseReference,
  referenceModel,
  referenceTensors,
  restoredReference,
} from "./rlhf/common/referenceModel.js";
export type { ReferenceTrainerArgs } from "./rlhf/common/referenceTrainer.js";
export { ReferenceTrainer } from "./rlhf/common/referenceTrainer.js";
export { GPTRewardModel, RewardHead } from "./rlhf/common/rewardHead.js";
export type { PromptResponseBatch, SequenceBatch, TokenizedPair } from "./rlhf/common/sequenceBatch.js";
export {
  collatePairs,
  collateSequences,
  subBatch,
  takeRows,
  tokenizePair,
} from "./rlhf/common/sequenceBatch.js";
export type { OnStep, TrainerLog, TrainOptions } from "./rlhf/common/trainer.js";
export { Trainer } from "./rlhf/common/trainer.js";
export type { ResolvedTrainingConfig, TrainingConfig } from "./rlhf/common/trainingConfig.js";
export { resolveTrainingConfig, TRAINING_DEFAULTS } from "./rlhf/common/trainingConfig.js";
export type { GPTWithValueHeadOutput } from "./rlhf/common/valueHead.js";
export { GPTWithValueHead, ValueHead } from "./rlhf/common/valueHead.js";
export { maskedWhiten } from "./rlhf/common/whiten.js";
export type { DPOConfig, DPOLossType, ResolvedDPOConfig } from "./rlhf/dpo/dpoConfig.js";
export { DPO_DEFAULTS, resolveDPOConfig } from "./rlhf/dpo/dpoConfig.js";
export { DPOTrainer } from "./rlhf/dpo/dpoTrainer.js";
export type { KTOConfig, ResolvedKTOConfig } from "./rlhf/dpo/ktoConfig.js";
export { KTO_DEFAULTS, resolveKTOConfig } from "./rlhf/dpo/ktoConfig.js";
export { KTOTrainer } from "./rlhf/dpo/ktoTrainer.js";
export { dpoLoss, ktoLoss } from "./rlhf/dpo/loss.js";
export type { CausalLM, GenerateOptions, GenerateResult, PromptBatch } from "./rlhf/generate.js";
export { generate, leftPad } from "./rlhf/generate.js";
export type { GPTCache, GPTConfig, GPTForwardOptions, GPTOutput } from "./rlhf/gpt.js";
export { cloneGPT, GPT } from "./rlhf/gpt.js";
export type { AdvantageEstimator, DcpoPromptStatistics } from "./rlhf/grpo/advantages.js";
// rlhf: GRPO family
export {
  dcpoAdvantages,
  drGrpoAdvantages,
  equalRewardGroups,
  grpoAdvantages,
  reinforcePlusPlusAdvantages,
  rlooAdvantages,
} from "./rlhf/grpo/advantages.js";
export type {
  ClipMode,
  GRPOConfig,
  GRPOKlEstimator,
  GRPORewardFunction,
  GRPORow,
  ImportanceSamplingLevel,
  KlPlacement,
  LossAggregation,
  ResolvedGRPOConfig,
} from "./rlhf/grpo/grpoConfig.js";
export { GRPO_CONFIG_KEYS, GRPO_DEFAULTS, resolveGRPOConfig } from "./rlhf/grpo/grpoConfig.js";
export type { GRPOStepStats, GRPOTrainerArgs } from "./rlhf/grpo/grpoTrainer.js";
export { GRPOTrainer } from "./rlhf/grpo/grpoTrainer.js";
export type { PolicyLossOptions, PolicyLossResult } from "./rlhf/grpo/loss.js";
export {
  aggregateLoss,
  clipBounds,
  dcpoClipBounds,
  grpoPolicyLoss,
  importanceRatio,
} from "./rlhf/grpo/loss.js";
export type { GRPOPreset } from "./rlhf/grpo/presets.js";
export { GRPO_PRESET_NAMES, listGRPOPresets, loadGRPOPreset, parseGRPOPreset } from "./rlhf/grpo/presets.js";
export type { DynamicBatch, SampledRound } from "./rlhf/grpo/sampling.js";
export { fillDynamicBatch, overlongPenalty } from "./rlhf/grpo/sampling.js";
export {
  actorLoss,
  adaptiveKlCoef,
  computeTokenRewards,
  criticLoss,
  gaeOverTokens,
} from "./rlhf/ppo/loss.js";
export type { PPOConfig, PPOKlEstimator, ResolvedPPOConfig } from "./rlhf/ppo/ppoConfig.js";
export { resolvePPOConfig } from "./rlhf/ppo/ppoConfig.js";
export type { PPOModels, PPOStepStats, PPOTrainerArgs, PPOTrainerOptions } from "./rlhf/ppo/ppoTrainer.js";
export { criticFromRewardModel, PPOTrainer } from "./rlhf/ppo/ppoTrainer.js";
export { bradleyTerryLoss } from "./rlhf/reward/loss.js";
export type { ResolvedRewardConfig, RewardConfig } from "./rlhf/reward/rewardConfig.js";
export { REWARD_DEFAULTS, resolveRewardConfig } from "./rlhf/reward/rewardConfig.js";
export { RewardTrainer } from "./rlhf/reward/rewardTrainer.js";
export { sftLoss } from "./rlhf/sft/loss.js";
export type { ResolvedSFTConfig, SFTConfig } from "./rlhf/sft/sftConfig.js";
export { resolveSFTConfig, SFT_DEFAULTS } from "./rlhf/sft/sftConfig.js";
export { SFTTrainer } from "./rlhf/sft/sftTrainer.js";
export type { AdditionTaskOptions } from "./rlhf/tasks/addition.js";
export { additionAnswer, additionProblemKey, additionTask } from "./rlhf/tasks/addition.js";
export type {
  PresetRun,
  ReasoningDemoOptions,
  ReasoningDemoResult,
  SftBaseOptions,
  VerifiableTaskName,
} from "./rlhf/tasks/reasoningDemo.js";
export {
  DEMO_GRPO_CONFIG,
  makeVerifiableTask,
  runReasoningDemo,
  trainSftBase,
  VERIFIABLE_TASKS,
} from "./rlhf/tasks/reasoningDemo.js";
export type { ParallelReasoningDemoOptions } from "./rlhf/tasks/reasoningDemoParallel.js";
export { runReasoningDemoInParallel } from "./rlhf/tasks/reasoningDemoParallel.js";
export type { ReferenceAnswerRow } from "./rlhf/tasks/referenceAnswers.js";
export {
  exactMatchReward,
  parseReferenceAnswers,
  readReferenceAnswers,
} from "./rlhf/tasks/referenceAnswers.js";
export type { ReverseTaskOptions } from "./rlhf/tasks/reverse.js";
export { reverseAnswer, reverseTask } from "./rlhf/tasks/reverse.js";
export { judgeSentiment, sentimentCorpus, sentimentTokenizer } from "./rlhf/tasks/sentiment.js";
export type {
  DemoProgress,
  DemoSample,
  SentimentDemoOptions,
  SentimentDemoResult,
} from "./rlhf/tasks/sentimentDemo.js";
export { runSentimentDemo } from "./rlhf/tasks/sentimentDemo.js";
export type {
  AccuracyOptions,
  AccuracyResult,
  RewardFunction,
  SplitSizes,
  TaskSplits,
  VerifiableTaskSpec,
} from "./rlhf/tasks/verifiableTask.js";
export { STOP_TOKEN, VerifiableTask } from "./rlhf/tasks/verifiableTask.js";
export type { Tokenizer } from "./rlhf/tokenizer.js";
export type { ChatMessage, ChatTemplateOptions } from "./rlhf/tokenizers/chatTemplate.js";
export { applyChatTemplate } from "./rlhf/tokenizers/chatTemplate.js";
export type { AddedTokenJson, HfTokenizerOptions } from "./rlhf/tokenizers/hfTokenizer.js";
export { HfTokenizer } from "./rlhf/tokenizers/hfTokenizer.js";
// tensor engine
export type { BackendName } from "./tensor/backend.js";
export type { BackendInfo } from "./tensor/defaultBackend.js";
/** Every tensor operation as a function (`ops.matmul(a, b)`, `ops.softmax(x, -1)`), with its gradient. */
export * as ops from "./tensor/ops.js";
export { DEFAULT_PACK_BUDGET_BYTES, withPackedWeights } from "./tensor/packedWeights.js";
export type { Shape } from "./tensor/shape.js";
export type { BackwardOptions, DType, TensorData, TensorOptions } from "./tensor/tensor.js";
export {
  arange,
  availableBackends,
  backendInfo,
  full,
  getBackend,
  grad,
  isGradEnabled,
  noGrad,
  ones,
  scalar,
  setBackend,
  setNumThreads,
  Tensor,
  tensor,
  withBackend,
  zeros,
} from "./tensor/tensor.js";
export type { WasmBuild } from "./tensor/wasmBuild.js";
