
à
/k8s.io/apimachinery/pkg/runtime/generated.protok8s.io.apimachinery.pkg.runtime" 
RawExtension
raw (Rraw">
TypeMeta

apiVersion (	R
apiVersion
kind (	Rkind"Æ
UnknownE
typeMeta (2).k8s.io.apimachinery.pkg.runtime.TypeMetaRtypeMeta
raw (Rraw(
contentEncoding (	RcontentEncoding 
contentType (	RcontentTypeB!Zk8s.io/apimachinery/pkg/runtime
ä
6k8s.io/apimachinery/pkg/runtime/schema/generated.proto&k8s.io.apimachinery.pkg.runtime.schemaB(Z&k8s.io/apimachinery/pkg/runtime/schema
Ù9
4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto$k8s.io.apimachinery.pkg.apis.meta.v1/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Á
APIGroup
name (	RnameZ
versions (2>.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionForDiscoveryRversionsj
preferredVersion (2>.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionForDiscoveryRpreferredVersion
serverAddressByClientCIDRs (2?.k8s.io.apimachinery.pkg.apis.meta.v1.ServerAddressByClientCIDRRserverAddressByClientCIDRs"V
APIGroupListF
groups (2..k8s.io.apimachinery.pkg.apis.meta.v1.APIGroupRgroups"‹
APIResource
name (	Rname"
singularName (	RsingularName

namespaced (R
namespaced
group (	Rgroup
version	 (	Rversion
kind (	RkindA
verbs (2+.k8s.io.apimachinery.pkg.apis.meta.v1.VerbsRverbs

shortNames (	R
shortNames

categories (	R
categories.
storageVersionHash
 (	RstorageVersionHash"Ü
APIResourceList"
groupVersion (	RgroupVersionO
	resources (21.k8s.io.apimachinery.pkg.apis.meta.v1.APIResourceR	resources"™
APIVersions
versions (	Rversions
serverAddressByClientCIDRs (2?.k8s.io.apimachinery.pkg.apis.meta.v1.ServerAddressByClientCIDRRserverAddressByClientCIDRs"`
ApplyOptions
dryRun (	RdryRun
force (Rforce"
fieldManager (	RfieldManager"ı
	Condition
type (	Rtype
status (	Rstatus.
observedGeneration (RobservedGenerationZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"u
CreateOptions
dryRun (	RdryRun"
fieldManager (	RfieldManager(
fieldValidation (	RfieldValidation"¯
DeleteOptions.
gracePeriodSeconds (RgracePeriodSecondsY
preconditions (23.k8s.io.apimachinery.pkg.apis.meta.v1.PreconditionsRpreconditions*
orphanDependents (RorphanDependents,
propagationPolicy (	RpropagationPolicy
dryRun (	RdryRunj
0ignoreStoreReadErrorWithClusterBreakingPotential (R0ignoreStoreReadErrorWithClusterBreakingPotential"&
Duration
duration (Rduration"`
FieldSelectorRequirement
key (	Rkey
operator (	Roperator
values (	Rvalues"
FieldsV1
Raw (RRaw"6

GetOptions(
resourceVersion (	RresourceVersion"5
	GroupKind
group (	Rgroup
kind (	Rkind"A
GroupResource
group (	Rgroup
resource (	Rresource">
GroupVersion
group (	Rgroup
version (	Rversion"X
GroupVersionForDiscovery"
groupVersion (	RgroupVersion
version (	Rversion"V
GroupVersionKind
group (	Rgroup
version (	Rversion
kind (	Rkind"b
GroupVersionResource
group (	Rgroup
version (	Rversion
resource (	Rresource"£
LabelSelectorf
matchLabels (2D.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelector.MatchLabelsEntryRmatchLabelsj
matchExpressions (2>.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirementRmatchExpressions>
MatchLabelsEntry
key (	Rkey
value (	Rvalue:8"`
LabelSelectorRequirement
key (	Rkey
operator (	Roperator
values (	Rvalues"ó
ListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRitems"Î
ListMeta
selfLink (	RselfLink(
resourceVersion (	RresourceVersion
continue (	Rcontinue.
remainingItemCount (RremainingItemCountM
	shardInfo (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ShardInfoR	shardInfo"≠
ListOptions$
labelSelector (	RlabelSelector$
fieldSelector (	RfieldSelector
watch (Rwatch0
allowWatchBookmarks	 (RallowWatchBookmarks(
resourceVersion (	RresourceVersion2
resourceVersionMatch
 (	RresourceVersionMatch&
timeoutSeconds (RtimeoutSeconds
limit (Rlimit
continue (	Rcontinue,
sendInitialEvents (RsendInitialEvents$
shardSelector (	RshardSelector"∫
ManagedFieldsEntry
manager (	Rmanager
	operation (	R	operation

apiVersion (	R
apiVersion>
time (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRtime

fieldsType (	R
fieldsTypeJ
fieldsV1 (2..k8s.io.apimachinery.pkg.apis.meta.v1.FieldsV1RfieldsV1 
subresource (	Rsubresource";
	MicroTime
seconds (Rseconds
nanos (Rnanos"‰

ObjectMeta
name (	Rname"
generateName (	RgenerateName
	namespace (	R	namespace
selfLink (	RselfLink
uid (	Ruid(
resourceVersion (	RresourceVersion

generation (R
generationX
creationTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRcreationTimestampX
deletionTimestamp	 (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRdeletionTimestamp>
deletionGracePeriodSeconds
 (RdeletionGracePeriodSecondsT
labels (2<.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta.LabelsEntryRlabelsc
annotations (2A.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta.AnnotationsEntryRannotations^
ownerReferences (24.k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReferenceRownerReferences

finalizers (	R
finalizers^
managedFields (28.k8s.io.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntryRmanagedFields9
LabelsEntry
key (	Rkey
value (	Rvalue:8>
AnnotationsEntry
key (	Rkey
value (	Rvalue:8"∫
OwnerReference

apiVersion (	R
apiVersion
kind (	Rkind
name (	Rname
uid (	Ruid

controller (R
controller.
blockOwnerDeletion (RblockOwnerDeletion"e
PartialObjectMetadataL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata"∫
PartialObjectMetadataListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataQ
items (2;.k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadataRitems"
Patch"ä
PatchOptions
dryRun (	RdryRun
force (Rforce"
fieldManager (	RfieldManager(
fieldValidation (	RfieldValidation"K
Preconditions
uid (	Ruid(
resourceVersion (	RresourceVersion"!
	RootPaths
paths (	Rpaths"a
ServerAddressByClientCIDR

clientCIDR (	R
clientCIDR$
serverAddress (	RserverAddress"'
	ShardInfo
selector (	Rselector"Å
StatusJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata
status (	Rstatus
message (	Rmessage
reason (	RreasonM
details (23.k8s.io.apimachinery.pkg.apis.meta.v1.StatusDetailsRdetails
code (Rcode"U
StatusCause
reason (	Rreason
message (	Rmessage
field (	Rfield"ÿ
StatusDetails
name (	Rname
group (	Rgroup
kind (	Rkind
uid (	RuidI
causes (21.k8s.io.apimachinery.pkg.apis.meta.v1.StatusCauseRcauses,
retryAfterSeconds (RretryAfterSeconds"4
TableOptions$
includeObject (	RincludeObject"6
Time
seconds (Rseconds
nanos (Rnanos";
	Timestamp
seconds (Rseconds
nanos (Rnanos">
TypeMeta
kind (	Rkind

apiVersion (	R
apiVersion"u
UpdateOptions
dryRun (	RdryRun"
fieldManager (	RfieldManager(
fieldValidation (	RfieldValidation"
Verbs
items (	Ritems"g

WatchEvent
type (	RtypeE
object (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRobjectB&Z$k8s.io/apimachinery/pkg/apis/meta/v1
≈
,k8s.io/api/authentication/v1/generated.protok8s.io.api.authentication.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"p
BoundObjectReference
kind (	Rkind

apiVersion (	R
apiVersion
name (	Rname
uID (	RuID""

ExtraValue
items (	Ritems"∞
SelfSubjectReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
status (25.k8s.io.api.authentication.v1.SelfSubjectReviewStatusRstatus"]
SelfSubjectReviewStatusB
userInfo (2&.k8s.io.api.authentication.v1.UserInfoRuserInfo"Í
TokenRequestL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.authentication.v1.TokenRequestSpecRspecH
status (20.k8s.io.api.authentication.v1.TokenRequestStatusRstatus"∫
TokenRequestSpec
	audiences (	R	audiences,
expirationSeconds (RexpirationSecondsZ
boundObjectRef (22.k8s.io.api.authentication.v1.BoundObjectReferenceRboundObjectRef"à
TokenRequestStatus
token (	Rtoken\
expirationTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRexpirationTimestamp"Á
TokenReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.authentication.v1.TokenReviewSpecRspecG
status (2/.k8s.io.api.authentication.v1.TokenReviewStatusRstatus"E
TokenReviewSpec
token (	Rtoken
	audiences (	R	audiences"©
TokenReviewStatus$
authenticated (Rauthenticated:
user (2&.k8s.io.api.authentication.v1.UserInfoRuser
	audiences (	R	audiences
error (	Rerror"˝
UserInfo
username (	Rusername
uid (	Ruid
groups (	RgroupsG
extra (21.k8s.io.api.authentication.v1.UserInfo.ExtraEntryRextrab

ExtraEntry
key (	Rkey>
value (2(.k8s.io.api.authentication.v1.ExtraValueRvalue:8BZk8s.io/api/authentication/v1
º
'k8s.io/api/admission/v1/generated.protok8s.io.api.admission.v1,k8s.io/api/authentication/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"„
AdmissionRequest
uid (	RuidJ
kind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRkindV
resource (2:.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionResourceRresource 
subResource (	RsubResourceX
requestKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRrequestKindd
requestResource (2:.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionResourceRrequestResource.
requestSubResource (	RrequestSubResource
name (	Rname
	namespace (	R	namespace
	operation (	R	operationB
userInfo (2&.k8s.io.api.authentication.v1.UserInfoRuserInfoE
object	 (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRobjectK
	oldObject
 (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionR	oldObject
dryRun (RdryRunG
options (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRoptions"à
AdmissionResponse
uid (	Ruid
allowed (RallowedD
status (2,.k8s.io.apimachinery.pkg.apis.meta.v1.StatusRstatus
patch (Rpatch
	patchType (	R	patchTypel
auditAnnotations (2@.k8s.io.api.admission.v1.AdmissionResponse.AuditAnnotationsEntryRauditAnnotations
warnings (	RwarningsC
AuditAnnotationsEntry
key (	Rkey
value (	Rvalue:8"û
AdmissionReviewC
request (2).k8s.io.api.admission.v1.AdmissionRequestRrequestF
response (2*.k8s.io.api.admission.v1.AdmissionResponseRresponseBZk8s.io/api/admission/v1
⁄
,k8s.io/api/admission/v1beta1/generated.protok8s.io.api.admission.v1beta1,k8s.io/api/authentication/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"„
AdmissionRequest
uid (	RuidJ
kind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRkindV
resource (2:.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionResourceRresource 
subResource (	RsubResourceX
requestKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRrequestKindd
requestResource (2:.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionResourceRrequestResource.
requestSubResource (	RrequestSubResource
name (	Rname
	namespace (	R	namespace
	operation (	R	operationB
userInfo (2&.k8s.io.api.authentication.v1.UserInfoRuserInfoE
object	 (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRobjectK
	oldObject
 (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionR	oldObject
dryRun (RdryRunG
options (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRoptions"ç
AdmissionResponse
uid (	Ruid
allowed (RallowedD
status (2,.k8s.io.apimachinery.pkg.apis.meta.v1.StatusRstatus
patch (Rpatch
	patchType (	R	patchTypeq
auditAnnotations (2E.k8s.io.api.admission.v1beta1.AdmissionResponse.AuditAnnotationsEntryRauditAnnotations
warnings (	RwarningsC
AuditAnnotationsEntry
key (	Rkey
value (	Rvalue:8"®
AdmissionReviewH
request (2..k8s.io.api.admission.v1beta1.AdmissionRequestRrequestK
response (2/.k8s.io.api.admission.v1beta1.AdmissionResponseRresponseBZk8s.io/api/admission/v1beta1
˘A
3k8s.io/api/admissionregistration/v1/generated.proto#k8s.io.api.admissionregistration.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"4
ApplyConfiguration

expression (	R
expression"M
AuditAnnotation
key (	Rkey(
valueExpression (	RvalueExpression"I
ExpressionWarning
fieldRef (	RfieldRef
warning (	Rwarning"+
	JSONPatch

expression (	R
expression"D
MatchCondition
name (	Rname

expression (	R
expression"»
MatchResourcesa
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelectorb
resourceRules (2<.k8s.io.api.admissionregistration.v1.NamedRuleWithOperationsRresourceRulesp
excludeResourceRules (2<.k8s.io.api.admissionregistration.v1.NamedRuleWithOperationsRexcludeResourceRules 
matchPolicy (	RmatchPolicy"Ω
MutatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataT
spec (2@.k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicySpecRspec"À
MutatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata[
spec (2G.k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicyBindingSpecRspec"À
"MutatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataY
items (2C.k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicyBindingRitems"Ï
"MutatingAdmissionPolicyBindingSpec

policyName (	R
policyNameI
paramRef (2-.k8s.io.api.admissionregistration.v1.ParamRefRparamRef[
matchResources (23.k8s.io.api.admissionregistration.v1.MatchResourcesRmatchResources"Ω
MutatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataR
items (2<.k8s.io.api.admissionregistration.v1.MutatingAdmissionPolicyRitems"õ
MutatingAdmissionPolicySpecL
	paramKind (2..k8s.io.api.admissionregistration.v1.ParamKindR	paramKind_
matchConstraints (23.k8s.io.api.admissionregistration.v1.MatchResourcesRmatchConstraintsK
	variables (2-.k8s.io.api.admissionregistration.v1.VariableR	variablesK
	mutations (2-.k8s.io.api.admissionregistration.v1.MutationR	mutations$
failurePolicy (	RfailurePolicy]
matchConditions (23.k8s.io.api.admissionregistration.v1.MatchConditionRmatchConditions.
reinvocationPolicy (	RreinvocationPolicy"Ì
MutatingWebhook
name (	Rname\
clientConfig (28.k8s.io.api.admissionregistration.v1.WebhookClientConfigRclientConfigM
rules (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRrules$
failurePolicy (	RfailurePolicy 
matchPolicy	 (	RmatchPolicya
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelector 
sideEffects (	RsideEffects&
timeoutSeconds (RtimeoutSeconds8
admissionReviewVersions (	RadmissionReviewVersions.
reinvocationPolicy
 (	RreinvocationPolicy]
matchConditions (23.k8s.io.api.admissionregistration.v1.MatchConditionRmatchConditions"æ
MutatingWebhookConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataP
Webhooks (24.k8s.io.api.admissionregistration.v1.MutatingWebhookRWebhooks"«
 MutatingWebhookConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataW
items (2A.k8s.io.api.admissionregistration.v1.MutatingWebhookConfigurationRitems"ﬂ
Mutation
	patchType (	R	patchTypeg
applyConfiguration (27.k8s.io.api.admissionregistration.v1.ApplyConfigurationRapplyConfigurationL
	jsonPatch (2..k8s.io.api.admissionregistration.v1.JSONPatchR	jsonPatch"®
NamedRuleWithOperations$
resourceNames (	RresourceNamesg
ruleWithOperations (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRruleWithOperations"?
	ParamKind

apiVersion (	R
apiVersion
kind (	Rkind"«
ParamRef
name (	Rname
	namespace (	R	namespaceO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector8
parameterNotFoundAction (	RparameterNotFoundAction"z
Rule
	apiGroups (	R	apiGroups 
apiVersions (	RapiVersions
	resources (	R	resources
scope (	Rscope"s
RuleWithOperations

operations (	R
operations=
rule (2).k8s.io.api.admissionregistration.v1.RuleRrule"l
ServiceReference
	namespace (	R	namespace
name (	Rname
path (	Rpath
port (Rport"v
TypeCheckingf
expressionWarnings (26.k8s.io.api.admissionregistration.v1.ExpressionWarningRexpressionWarnings"ü
ValidatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataV
spec (2B.k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicySpecRspec\
status (2D.k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyStatusRstatus"œ
 ValidatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata]
spec (2I.k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecRspec"œ
$ValidatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata[
items (2E.k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyBindingRitems"ú
$ValidatingAdmissionPolicyBindingSpec

policyName (	R
policyNameI
paramRef (2-.k8s.io.api.admissionregistration.v1.ParamRefRparamRef[
matchResources (23.k8s.io.api.admissionregistration.v1.MatchResourcesRmatchResources,
validationActions (	RvalidationActions"¡
ValidatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataT
items (2>.k8s.io.api.admissionregistration.v1.ValidatingAdmissionPolicyRitems"’
ValidatingAdmissionPolicySpecL
	paramKind (2..k8s.io.api.admissionregistration.v1.ParamKindR	paramKind_
matchConstraints (23.k8s.io.api.admissionregistration.v1.MatchResourcesRmatchConstraintsQ
validations (2/.k8s.io.api.admissionregistration.v1.ValidationRvalidations$
failurePolicy (	RfailurePolicy`
auditAnnotations (24.k8s.io.api.admissionregistration.v1.AuditAnnotationRauditAnnotations]
matchConditions (23.k8s.io.api.admissionregistration.v1.MatchConditionRmatchConditionsK
	variables (2-.k8s.io.api.admissionregistration.v1.VariableR	variables"˘
ValidatingAdmissionPolicyStatus.
observedGeneration (RobservedGenerationU
typeChecking (21.k8s.io.api.admissionregistration.v1.TypeCheckingRtypeCheckingO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"ø
ValidatingWebhook
name (	Rname\
clientConfig (28.k8s.io.api.admissionregistration.v1.WebhookClientConfigRclientConfigM
rules (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRrules$
failurePolicy (	RfailurePolicy 
matchPolicy	 (	RmatchPolicya
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector
 (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelector 
sideEffects (	RsideEffects&
timeoutSeconds (RtimeoutSeconds8
admissionReviewVersions (	RadmissionReviewVersions]
matchConditions (23.k8s.io.api.admissionregistration.v1.MatchConditionRmatchConditions"¬
ValidatingWebhookConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
Webhooks (26.k8s.io.api.admissionregistration.v1.ValidatingWebhookRWebhooks"À
"ValidatingWebhookConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataY
items (2C.k8s.io.api.admissionregistration.v1.ValidatingWebhookConfigurationRitems"å

Validation

Expression (	R
Expression
message (	Rmessage
reason (	Rreason,
messageExpression (	RmessageExpression">
Variable
Name (	RName

Expression (	R
Expression"î
WebhookClientConfig
url (	RurlO
service (25.k8s.io.api.admissionregistration.v1.ServiceReferenceRservice
caBundle (RcaBundleB%Z#k8s.io/api/admissionregistration/v1
Æ.
9k8s.io/api/admissionregistration/v1alpha1/generated.proto)k8s.io.api.admissionregistration.v1alpha13k8s.io/api/admissionregistration/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"4
ApplyConfiguration

expression (	R
expression"M
AuditAnnotation
key (	Rkey(
valueExpression (	RvalueExpression"I
ExpressionWarning
fieldRef (	RfieldRef
warning (	Rwarning"+
	JSONPatch

expression (	R
expression"D
MatchCondition
name (	Rname

expression (	R
expression"‘
MatchResourcesa
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelectorh
resourceRules (2B.k8s.io.api.admissionregistration.v1alpha1.NamedRuleWithOperationsRresourceRulesv
excludeResourceRules (2B.k8s.io.api.admissionregistration.v1alpha1.NamedRuleWithOperationsRexcludeResourceRules 
matchPolicy (	RmatchPolicy"√
MutatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataZ
spec (2F.k8s.io.api.admissionregistration.v1alpha1.MutatingAdmissionPolicySpecRspec"—
MutatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataa
spec (2M.k8s.io.api.admissionregistration.v1alpha1.MutatingAdmissionPolicyBindingSpecRspec"—
"MutatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata_
items (2I.k8s.io.api.admissionregistration.v1alpha1.MutatingAdmissionPolicyBindingRitems"¯
"MutatingAdmissionPolicyBindingSpec

policyName (	R
policyNameO
paramRef (23.k8s.io.api.admissionregistration.v1alpha1.ParamRefRparamRefa
matchResources (29.k8s.io.api.admissionregistration.v1alpha1.MatchResourcesRmatchResources"√
MutatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataX
items (2B.k8s.io.api.admissionregistration.v1alpha1.MutatingAdmissionPolicyRitems"π
MutatingAdmissionPolicySpecR
	paramKind (24.k8s.io.api.admissionregistration.v1alpha1.ParamKindR	paramKinde
matchConstraints (29.k8s.io.api.admissionregistration.v1alpha1.MatchResourcesRmatchConstraintsQ
	variables (23.k8s.io.api.admissionregistration.v1alpha1.VariableR	variablesQ
	mutations (23.k8s.io.api.admissionregistration.v1alpha1.MutationR	mutations$
failurePolicy (	RfailurePolicyc
matchConditions (29.k8s.io.api.admissionregistration.v1alpha1.MatchConditionRmatchConditions.
reinvocationPolicy (	RreinvocationPolicy"Î
Mutation
	patchType (	R	patchTypem
applyConfiguration (2=.k8s.io.api.admissionregistration.v1alpha1.ApplyConfigurationRapplyConfigurationR
	jsonPatch (24.k8s.io.api.admissionregistration.v1alpha1.JSONPatchR	jsonPatch"®
NamedRuleWithOperations$
resourceNames (	RresourceNamesg
ruleWithOperations (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRruleWithOperations"?
	ParamKind

apiVersion (	R
apiVersion
kind (	Rkind"«
ParamRef
name (	Rname
	namespace (	R	namespaceO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector8
parameterNotFoundAction (	RparameterNotFoundAction"|
TypeCheckingl
expressionWarnings (2<.k8s.io.api.admissionregistration.v1alpha1.ExpressionWarningRexpressionWarnings"´
ValidatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata\
spec (2H.k8s.io.api.admissionregistration.v1alpha1.ValidatingAdmissionPolicySpecRspecb
status (2J.k8s.io.api.admissionregistration.v1alpha1.ValidatingAdmissionPolicyStatusRstatus"’
 ValidatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadatac
spec (2O.k8s.io.api.admissionregistration.v1alpha1.ValidatingAdmissionPolicyBindingSpecRspec"’
$ValidatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataa
items (2K.k8s.io.api.admissionregistration.v1alpha1.ValidatingAdmissionPolicyBindingRitems"®
$ValidatingAdmissionPolicyBindingSpec

policyName (	R
policyNameO
paramRef (23.k8s.io.api.admissionregistration.v1alpha1.ParamRefRparamRefa
matchResources (29.k8s.io.api.admissionregistration.v1alpha1.MatchResourcesRmatchResources,
validationActions (	RvalidationActions"«
ValidatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataZ
items (2D.k8s.io.api.admissionregistration.v1alpha1.ValidatingAdmissionPolicyRitems"˘
ValidatingAdmissionPolicySpecR
	paramKind (24.k8s.io.api.admissionregistration.v1alpha1.ParamKindR	paramKinde
matchConstraints (29.k8s.io.api.admissionregistration.v1alpha1.MatchResourcesRmatchConstraintsW
validations (25.k8s.io.api.admissionregistration.v1alpha1.ValidationRvalidations$
failurePolicy (	RfailurePolicyf
auditAnnotations (2:.k8s.io.api.admissionregistration.v1alpha1.AuditAnnotationRauditAnnotationsc
matchConditions (29.k8s.io.api.admissionregistration.v1alpha1.MatchConditionRmatchConditionsQ
	variables (23.k8s.io.api.admissionregistration.v1alpha1.VariableR	variables"ˇ
ValidatingAdmissionPolicyStatus.
observedGeneration (RobservedGeneration[
typeChecking (27.k8s.io.api.admissionregistration.v1alpha1.TypeCheckingRtypeCheckingO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"å

Validation

Expression (	R
Expression
message (	Rmessage
reason (	Rreason,
messageExpression (	RmessageExpression">
Variable
Name (	RName

Expression (	R
ExpressionB+Z)k8s.io/api/admissionregistration/v1alpha1
èB
8k8s.io/api/admissionregistration/v1beta1/generated.proto(k8s.io.api.admissionregistration.v1beta13k8s.io/api/admissionregistration/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"4
ApplyConfiguration

expression (	R
expression"M
AuditAnnotation
key (	Rkey(
valueExpression (	RvalueExpression"I
ExpressionWarning
fieldRef (	RfieldRef
warning (	Rwarning"+
	JSONPatch

expression (	R
expression"D
MatchCondition
name (	Rname

expression (	R
expression"“
MatchResourcesa
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelectorg
resourceRules (2A.k8s.io.api.admissionregistration.v1beta1.NamedRuleWithOperationsRresourceRulesu
excludeResourceRules (2A.k8s.io.api.admissionregistration.v1beta1.NamedRuleWithOperationsRexcludeResourceRules 
matchPolicy (	RmatchPolicy"¬
MutatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataY
spec (2E.k8s.io.api.admissionregistration.v1beta1.MutatingAdmissionPolicySpecRspec"–
MutatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata`
spec (2L.k8s.io.api.admissionregistration.v1beta1.MutatingAdmissionPolicyBindingSpecRspec"–
"MutatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata^
items (2H.k8s.io.api.admissionregistration.v1beta1.MutatingAdmissionPolicyBindingRitems"ˆ
"MutatingAdmissionPolicyBindingSpec

policyName (	R
policyNameN
paramRef (22.k8s.io.api.admissionregistration.v1beta1.ParamRefRparamRef`
matchResources (28.k8s.io.api.admissionregistration.v1beta1.MatchResourcesRmatchResources"¬
MutatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataW
items (2A.k8s.io.api.admissionregistration.v1beta1.MutatingAdmissionPolicyRitems"¥
MutatingAdmissionPolicySpecQ
	paramKind (23.k8s.io.api.admissionregistration.v1beta1.ParamKindR	paramKindd
matchConstraints (28.k8s.io.api.admissionregistration.v1beta1.MatchResourcesRmatchConstraintsP
	variables (22.k8s.io.api.admissionregistration.v1beta1.VariableR	variablesP
	mutations (22.k8s.io.api.admissionregistration.v1beta1.MutationR	mutations$
failurePolicy (	RfailurePolicyb
matchConditions (28.k8s.io.api.admissionregistration.v1beta1.MatchConditionRmatchConditions.
reinvocationPolicy (	RreinvocationPolicy"˜
MutatingWebhook
name (	Rnamea
clientConfig (2=.k8s.io.api.admissionregistration.v1beta1.WebhookClientConfigRclientConfigM
rules (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRrules$
failurePolicy (	RfailurePolicy 
matchPolicy	 (	RmatchPolicya
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelector 
sideEffects (	RsideEffects&
timeoutSeconds (RtimeoutSeconds8
admissionReviewVersions (	RadmissionReviewVersions.
reinvocationPolicy
 (	RreinvocationPolicyb
matchConditions (28.k8s.io.api.admissionregistration.v1beta1.MatchConditionRmatchConditions"√
MutatingWebhookConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataU
Webhooks (29.k8s.io.api.admissionregistration.v1beta1.MutatingWebhookRWebhooks"Ã
 MutatingWebhookConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata\
items (2F.k8s.io.api.admissionregistration.v1beta1.MutatingWebhookConfigurationRitems"È
Mutation
	patchType (	R	patchTypel
applyConfiguration (2<.k8s.io.api.admissionregistration.v1beta1.ApplyConfigurationRapplyConfigurationQ
	jsonPatch (23.k8s.io.api.admissionregistration.v1beta1.JSONPatchR	jsonPatch"®
NamedRuleWithOperations$
resourceNames (	RresourceNamesg
ruleWithOperations (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRruleWithOperations"?
	ParamKind

apiVersion (	R
apiVersion
kind (	Rkind"«
ParamRef
name (	Rname
	namespace (	R	namespaceO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector8
parameterNotFoundAction (	RparameterNotFoundAction"l
ServiceReference
	namespace (	R	namespace
name (	Rname
path (	Rpath
port (Rport"{
TypeCheckingk
expressionWarnings (2;.k8s.io.api.admissionregistration.v1beta1.ExpressionWarningRexpressionWarnings"©
ValidatingAdmissionPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata[
spec (2G.k8s.io.api.admissionregistration.v1beta1.ValidatingAdmissionPolicySpecRspeca
status (2I.k8s.io.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyStatusRstatus"‘
 ValidatingAdmissionPolicyBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadatab
spec (2N.k8s.io.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyBindingSpecRspec"‘
$ValidatingAdmissionPolicyBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata`
items (2J.k8s.io.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyBindingRitems"¶
$ValidatingAdmissionPolicyBindingSpec

policyName (	R
policyNameN
paramRef (22.k8s.io.api.admissionregistration.v1beta1.ParamRefRparamRef`
matchResources (28.k8s.io.api.admissionregistration.v1beta1.MatchResourcesRmatchResources,
validationActions (	RvalidationActions"∆
ValidatingAdmissionPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataY
items (2C.k8s.io.api.admissionregistration.v1beta1.ValidatingAdmissionPolicyRitems"Û
ValidatingAdmissionPolicySpecQ
	paramKind (23.k8s.io.api.admissionregistration.v1beta1.ParamKindR	paramKindd
matchConstraints (28.k8s.io.api.admissionregistration.v1beta1.MatchResourcesRmatchConstraintsV
validations (24.k8s.io.api.admissionregistration.v1beta1.ValidationRvalidations$
failurePolicy (	RfailurePolicye
auditAnnotations (29.k8s.io.api.admissionregistration.v1beta1.AuditAnnotationRauditAnnotationsb
matchConditions (28.k8s.io.api.admissionregistration.v1beta1.MatchConditionRmatchConditionsP
	variables (22.k8s.io.api.admissionregistration.v1beta1.VariableR	variables"˛
ValidatingAdmissionPolicyStatus.
observedGeneration (RobservedGenerationZ
typeChecking (26.k8s.io.api.admissionregistration.v1beta1.TypeCheckingRtypeCheckingO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"…
ValidatingWebhook
name (	Rnamea
clientConfig (2=.k8s.io.api.admissionregistration.v1beta1.WebhookClientConfigRclientConfigM
rules (27.k8s.io.api.admissionregistration.v1.RuleWithOperationsRrules$
failurePolicy (	RfailurePolicy 
matchPolicy	 (	RmatchPolicya
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector[
objectSelector
 (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRobjectSelector 
sideEffects (	RsideEffects&
timeoutSeconds (RtimeoutSeconds8
admissionReviewVersions (	RadmissionReviewVersionsb
matchConditions (28.k8s.io.api.admissionregistration.v1beta1.MatchConditionRmatchConditions"«
ValidatingWebhookConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataW
Webhooks (2;.k8s.io.api.admissionregistration.v1beta1.ValidatingWebhookRWebhooks"–
"ValidatingWebhookConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata^
items (2H.k8s.io.api.admissionregistration.v1beta1.ValidatingWebhookConfigurationRitems"å

Validation

Expression (	R
Expression
message (	Rmessage
reason (	Rreason,
messageExpression (	RmessageExpression">
Variable
Name (	RName

Expression (	R
Expression"ô
WebhookClientConfig
url (	RurlT
service (2:.k8s.io.api.admissionregistration.v1beta1.ServiceReferenceRservice
caBundle (RcaBundleB*Z(k8s.io/api/admissionregistration/v1beta1
ë
*k8s.io/api/apidiscovery/v2/generated.protok8s.io.api.apidiscovery.v24k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Æ
APIGroupDiscoveryL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataK
versions (2/.k8s.io.api.apidiscovery.v2.APIVersionDiscoveryRversions"®
APIGroupDiscoveryListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.api.apidiscovery.v2.APIGroupDiscoveryRitems"ˇ
APIResourceDiscovery
resource (	RresourceZ
responseKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRresponseKind
scope (	Rscope*
singularResource (	RsingularResource
verbs (	Rverbs

shortNames (	R
shortNames

categories (	R
categoriesW
subresources (23.k8s.io.api.apidiscovery.v2.APISubresourceDiscoveryRsubresources"ã
APISubresourceDiscovery 
subresource (	RsubresourceZ
responseKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRresponseKind\
acceptedTypes (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRacceptedTypes
verbs (	Rverbs"ù
APIVersionDiscovery
version (	RversionN
	resources (20.k8s.io.api.apidiscovery.v2.APIResourceDiscoveryR	resources
	freshness (	R	freshnessBZk8s.io/api/apidiscovery/v2
¥
/k8s.io/api/apidiscovery/v2beta1/generated.protok8s.io.api.apidiscovery.v2beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"≥
APIGroupDiscoveryL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataP
versions (24.k8s.io.api.apidiscovery.v2beta1.APIVersionDiscoveryRversions"≠
APIGroupDiscoveryListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.apidiscovery.v2beta1.APIGroupDiscoveryRitems"Ñ
APIResourceDiscovery
resource (	RresourceZ
responseKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRresponseKind
scope (	Rscope*
singularResource (	RsingularResource
verbs (	Rverbs

shortNames (	R
shortNames

categories (	R
categories\
subresources (28.k8s.io.api.apidiscovery.v2beta1.APISubresourceDiscoveryRsubresources"ã
APISubresourceDiscovery 
subresource (	RsubresourceZ
responseKind (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRresponseKind\
acceptedTypes (26.k8s.io.apimachinery.pkg.apis.meta.v1.GroupVersionKindRacceptedTypes
verbs (	Rverbs"¢
APIVersionDiscovery
version (	RversionS
	resources (25.k8s.io.api.apidiscovery.v2beta1.APIResourceDiscoveryR	resources
	freshness (	R	freshnessB!Zk8s.io/api/apidiscovery/v2beta1
»
5k8s.io/api/apiserverinternal/v1alpha1/generated.proto%k8s.io.api.apiserverinternal.v1alpha14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"∏
ServerStorageVersion 
apiServerID (	RapiServerID(
encodingVersion (	RencodingVersion,
decodableVersions (	RdecodableVersions&
servedVersions (	RservedVersions"Ç
StorageVersionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
spec (29.k8s.io.api.apiserverinternal.v1alpha1.StorageVersionSpecRspecS
status (2;.k8s.io.api.apiserverinternal.v1alpha1.StorageVersionStatusRstatus"É
StorageVersionCondition
type (	Rtype
status (	Rstatus.
observedGeneration (RobservedGenerationZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"≠
StorageVersionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataK
items (25.k8s.io.api.apiserverinternal.v1alpha1.StorageVersionRitems"
StorageVersionSpec"ì
StorageVersionStatuse
storageVersions (2;.k8s.io.api.apiserverinternal.v1alpha1.ServerStorageVersionRstorageVersions4
commonEncodingVersion (	RcommonEncodingVersion^

conditions (2>.k8s.io.api.apiserverinternal.v1alpha1.StorageVersionConditionR
conditionsB'Z%k8s.io/api/apiserverinternal/v1alpha1
—
4k8s.io/apimachinery/pkg/api/resource/generated.proto$k8s.io.apimachinery.pkg.api.resource""
Quantity
string (	Rstring"'
QuantityValue
string (	RstringB&Z$k8s.io/apimachinery/pkg/api/resource
‘
3k8s.io/apimachinery/pkg/util/intstr/generated.proto#k8s.io.apimachinery.pkg.util.intstr"Q
IntOrString
type (Rtype
intVal (RintVal
strVal (	RstrValB%Z#k8s.io/apimachinery/pkg/util/intstr
©¡
"k8s.io/api/core/v1/generated.protok8s.io.api.core.v14k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"ê
 AWSElasticBlockStoreVolumeSource
volumeID (	RvolumeID
fsType (	RfsType
	partition (R	partition
readOnly (RreadOnly"‚
AffinityD
nodeAffinity (2 .k8s.io.api.core.v1.NodeAffinityRnodeAffinityA
podAffinity (2.k8s.io.api.core.v1.PodAffinityRpodAffinityM
podAntiAffinity (2#.k8s.io.api.core.v1.PodAntiAffinityRpodAntiAffinity"Q
AppArmorProfile
type (	Rtype*
localhostProfile (	RlocalhostProfile"D
AttachedVolume
name (	Rname

devicePath (	R
devicePath"_
	AvoidPodsR
preferAvoidPods (2(.k8s.io.api.core.v1.PreferAvoidPodsEntryRpreferAvoidPods"∑
AzureDiskVolumeSource
diskName (	RdiskName
diskURI (	RdiskURI 
cachingMode (	RcachingMode
fsType (	RfsType
readOnly (RreadOnly
kind (	Rkind"•
AzureFilePersistentVolumeSource

secretName (	R
secretName
	shareName (	R	shareName
readOnly (RreadOnly(
secretNamespace (	RsecretNamespace"q
AzureFileVolumeSource

secretName (	R
secretName
	shareName (	R	shareName
readOnly (RreadOnly"î
BindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
target (2#.k8s.io.api.core.v1.ObjectReferenceRtarget"é
CSIPersistentVolumeSource
driver (	Rdriver"
volumeHandle (	RvolumeHandle
readOnly (RreadOnly
fsType (	RfsTypeo
volumeAttributes (2C.k8s.io.api.core.v1.CSIPersistentVolumeSource.VolumeAttributesEntryRvolumeAttributesc
controllerPublishSecretRef (2#.k8s.io.api.core.v1.SecretReferenceRcontrollerPublishSecretRefS
nodeStageSecretRef (2#.k8s.io.api.core.v1.SecretReferenceRnodeStageSecretRefW
nodePublishSecretRef (2#.k8s.io.api.core.v1.SecretReferenceRnodePublishSecretRefa
controllerExpandSecretRef	 (2#.k8s.io.api.core.v1.SecretReferenceRcontrollerExpandSecretRefU
nodeExpandSecretRef
 (2#.k8s.io.api.core.v1.SecretReferenceRnodeExpandSecretRefC
VolumeAttributesEntry
key (	Rkey
value (	Rvalue:8"Á
CSIVolumeSource
driver (	Rdriver
readOnly (RreadOnly
fsType (	RfsTypee
volumeAttributes (29.k8s.io.api.core.v1.CSIVolumeSource.VolumeAttributesEntryRvolumeAttributes\
nodePublishSecretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceRnodePublishSecretRefC
VolumeAttributesEntry
key (	Rkey
value (	Rvalue:8"4
Capabilities
add (	Radd
drop (	Rdrop"·
CephFSPersistentVolumeSource
monitors (	Rmonitors
path (	Rpath
user (	Ruser

secretFile (	R
secretFileA
	secretRef (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef
readOnly (RreadOnly"‹
CephFSVolumeSource
monitors (	Rmonitors
path (	Rpath
user (	Ruser

secretFile (	R
secretFileF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef
readOnly (RreadOnly"±
CinderPersistentVolumeSource
volumeID (	RvolumeID
fsType (	RfsType
readOnly (RreadOnlyA
	secretRef (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef"¨
CinderVolumeSource
volumeID (	RvolumeID
fsType (	RfsType
readOnly (RreadOnlyF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef"8
ClientIPConfig&
timeoutSeconds (RtimeoutSeconds"›
ClusterTrustBundleProjection
name (	Rname

signerName (	R
signerNameY
labelSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRlabelSelector
optional (Roptional
path (	Rpath"p
ComponentCondition
type (	Rtype
status (	Rstatus
message (	Rmessage
error (	Rerror"ß
ComponentStatusL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataF

conditions (2&.k8s.io.api.core.v1.ComponentConditionR
conditions"ú
ComponentStatusListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.core.v1.ComponentStatusRitems"˚
	ConfigMapL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
	immutable (R	immutable;
data (2'.k8s.io.api.core.v1.ConfigMap.DataEntryRdataM

binaryData (2-.k8s.io.api.core.v1.ConfigMap.BinaryDataEntryR
binaryData7
	DataEntry
key (	Rkey
value (	Rvalue:8=
BinaryDataEntry
key (	Rkey
value (Rvalue:8"é
ConfigMapEnvSource\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference
optional (Roptional"¢
ConfigMapKeySelector\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference
key (	Rkey
optional (Roptional"ê
ConfigMapListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata3
items (2.k8s.io.api.core.v1.ConfigMapRitems"µ
ConfigMapNodeConfigSource
	namespace (	R	namespace
name (	Rname
uid (	Ruid(
resourceVersion (	RresourceVersion*
kubeletConfigKey (	RkubeletConfigKey"ƒ
ConfigMapProjection\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference3
items (2.k8s.io.api.core.v1.KeyToPathRitems
optional (Roptional"Ë
ConfigMapVolumeSource\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference3
items (2.k8s.io.api.core.v1.KeyToPathRitems 
defaultMode (RdefaultMode
optional (Roptional"˛	
	Container
name (	Rname
image (	Rimage
command (	Rcommand
args (	Rargs

workingDir (	R
workingDir7
ports (2!.k8s.io.api.core.v1.ContainerPortRports;
envFrom (2!.k8s.io.api.core.v1.EnvFromSourceRenvFrom,
env (2.k8s.io.api.core.v1.EnvVarRenvF
	resources (2(.k8s.io.api.core.v1.ResourceRequirementsR	resourcesM
resizePolicy (2).k8s.io.api.core.v1.ContainerResizePolicyRresizePolicy$
restartPolicy (	RrestartPolicyX
restartPolicyRules (2(.k8s.io.api.core.v1.ContainerRestartRuleRrestartPolicyRulesC
volumeMounts	 (2.k8s.io.api.core.v1.VolumeMountRvolumeMountsF
volumeDevices (2 .k8s.io.api.core.v1.VolumeDeviceRvolumeDevices?
livenessProbe
 (2.k8s.io.api.core.v1.ProbeRlivenessProbeA
readinessProbe (2.k8s.io.api.core.v1.ProbeRreadinessProbe=
startupProbe (2.k8s.io.api.core.v1.ProbeRstartupProbe;
	lifecycle (2.k8s.io.api.core.v1.LifecycleR	lifecycle6
terminationMessagePath (	RterminationMessagePath:
terminationMessagePolicy (	RterminationMessagePolicy(
imagePullPolicy (	RimagePullPolicyM
securityContext (2#.k8s.io.api.core.v1.SecurityContextRsecurityContext
stdin (Rstdin
	stdinOnce (R	stdinOnce
tty (Rtty"é
 ContainerExtendedResourceRequest$
containerName (	RcontainerName"
resourceName (	RresourceName 
requestName (	RrequestName"D
ContainerImage
names (	Rnames
	sizeBytes (R	sizeBytes"ô
ContainerPort
name (	Rname
hostPort (RhostPort$
containerPort (RcontainerPort
protocol (	Rprotocol
hostIP (	RhostIP"a
ContainerResizePolicy"
resourceName (	RresourceName$
restartPolicy (	RrestartPolicy"Å
ContainerRestartRule
action (	RactionQ
	exitCodes (23.k8s.io.api.core.v1.ContainerRestartRuleOnExitCodesR	exitCodes"U
ContainerRestartRuleOnExitCodes
operator (	Roperator
values (Rvalues"Ë
ContainerStateC
waiting (2).k8s.io.api.core.v1.ContainerStateWaitingRwaitingC
running (2).k8s.io.api.core.v1.ContainerStateRunningRrunningL

terminated (2,.k8s.io.api.core.v1.ContainerStateTerminatedR
terminated"a
ContainerStateRunningH
	startedAt (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	startedAt"∏
ContainerStateTerminated
exitCode (RexitCode
signal (Rsignal
reason (	Rreason
message (	RmessageH
	startedAt (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	startedAtJ

finishedAt (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR
finishedAt 
containerID (	RcontainerID"I
ContainerStateWaiting
reason (	Rreason
message (	Rmessage"ı
ContainerStatus
name (	Rname8
state (2".k8s.io.api.core.v1.ContainerStateRstate@
	lastState (2".k8s.io.api.core.v1.ContainerStateR	lastState
ready (Rready"
restartCount (RrestartCount
image (	Rimage
imageID (	RimageID 
containerID (	RcontainerID
started	 (Rstartedk
allocatedResources
 (2;.k8s.io.api.core.v1.ContainerStatus.AllocatedResourcesEntryRallocatedResourcesF
	resources (2(.k8s.io.api.core.v1.ResourceRequirementsR	resourcesI
volumeMounts (2%.k8s.io.api.core.v1.VolumeMountStatusRvolumeMounts5
user (2!.k8s.io.api.core.v1.ContainerUserRuser^
allocatedResourcesStatus (2".k8s.io.api.core.v1.ResourceStatusRallocatedResourcesStatus

stopSignal (	R
stopSignalu
AllocatedResourcesEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"M
ContainerUser<
linux (2&.k8s.io.api.core.v1.LinuxContainerUserRlinux"$
DaemonEndpoint
Port (RPort"X
DownwardAPIProjection?
items (2).k8s.io.api.core.v1.DownwardAPIVolumeFileRitems"€
DownwardAPIVolumeFile
path (	RpathC
fieldRef (2'.k8s.io.api.core.v1.ObjectFieldSelectorRfieldRefU
resourceFieldRef (2).k8s.io.api.core.v1.ResourceFieldSelectorRresourceFieldRef
mode (Rmode"|
DownwardAPIVolumeSource?
items (2).k8s.io.api.core.v1.DownwardAPIVolumeFileRitems 
defaultMode (RdefaultMode"|
EmptyDirVolumeSource
medium (	RmediumL
	sizeLimit (2..k8s.io.apimachinery.pkg.api.resource.QuantityR	sizeLimit"ú
EndpointAddress
ip (	Rip
hostname (	Rhostname
nodeName (	RnodeNameA
	targetRef (2#.k8s.io.api.core.v1.ObjectReferenceR	targetRef"t
EndpointPort
name (	Rname
port (Rport
protocol (	Rprotocol 
appProtocol (	RappProtocol"ﬁ
EndpointSubsetA
	addresses (2#.k8s.io.api.core.v1.EndpointAddressR	addressesQ
notReadyAddresses (2#.k8s.io.api.core.v1.EndpointAddressRnotReadyAddresses6
ports (2 .k8s.io.api.core.v1.EndpointPortRports"ó
	EndpointsL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
subsets (2".k8s.io.api.core.v1.EndpointSubsetRsubsets"ê
EndpointsListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata3
items (2.k8s.io.api.core.v1.EndpointsRitems"∂
EnvFromSource
prefix (	RprefixJ
configMapRef (2&.k8s.io.api.core.v1.ConfigMapEnvSourceRconfigMapRefA
	secretRef (2#.k8s.io.api.core.v1.SecretEnvSourceR	secretRef"r
EnvVar
name (	Rname
value (	Rvalue>
	valueFrom (2 .k8s.io.api.core.v1.EnvVarSourceR	valueFrom"é
EnvVarSourceC
fieldRef (2'.k8s.io.api.core.v1.ObjectFieldSelectorRfieldRefU
resourceFieldRef (2).k8s.io.api.core.v1.ResourceFieldSelectorRresourceFieldRefR
configMapKeyRef (2(.k8s.io.api.core.v1.ConfigMapKeySelectorRconfigMapKeyRefI
secretKeyRef (2%.k8s.io.api.core.v1.SecretKeySelectorRsecretKeyRefC

fileKeyRef (2#.k8s.io.api.core.v1.FileKeySelectorR
fileKeyRef"∞
EphemeralContainerh
ephemeralContainerCommon (2,.k8s.io.api.core.v1.EphemeralContainerCommonRephemeralContainerCommon0
targetContainerName (	RtargetContainerName"ç

EphemeralContainerCommon
name (	Rname
image (	Rimage
command (	Rcommand
args (	Rargs

workingDir (	R
workingDir7
ports (2!.k8s.io.api.core.v1.ContainerPortRports;
envFrom (2!.k8s.io.api.core.v1.EnvFromSourceRenvFrom,
env (2.k8s.io.api.core.v1.EnvVarRenvF
	resources (2(.k8s.io.api.core.v1.ResourceRequirementsR	resourcesM
resizePolicy (2).k8s.io.api.core.v1.ContainerResizePolicyRresizePolicy$
restartPolicy (	RrestartPolicyX
restartPolicyRules (2(.k8s.io.api.core.v1.ContainerRestartRuleRrestartPolicyRulesC
volumeMounts	 (2.k8s.io.api.core.v1.VolumeMountRvolumeMountsF
volumeDevices (2 .k8s.io.api.core.v1.VolumeDeviceRvolumeDevices?
livenessProbe
 (2.k8s.io.api.core.v1.ProbeRlivenessProbeA
readinessProbe (2.k8s.io.api.core.v1.ProbeRreadinessProbe=
startupProbe (2.k8s.io.api.core.v1.ProbeRstartupProbe;
	lifecycle (2.k8s.io.api.core.v1.LifecycleR	lifecycle6
terminationMessagePath (	RterminationMessagePath:
terminationMessagePolicy (	RterminationMessagePolicy(
imagePullPolicy (	RimagePullPolicyM
securityContext (2#.k8s.io.api.core.v1.SecurityContextRsecurityContext
stdin (Rstdin
	stdinOnce (R	stdinOnce
tty (Rtty"|
EphemeralVolumeSourcec
volumeClaimTemplate (21.k8s.io.api.core.v1.PersistentVolumeClaimTemplateRvolumeClaimTemplate"ö
EventL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataK
involvedObject (2#.k8s.io.api.core.v1.ObjectReferenceRinvolvedObject
reason (	Rreason
message (	Rmessage7
source (2.k8s.io.api.core.v1.EventSourceRsourceR
firstTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRfirstTimestampP
lastTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTimestamp
count (Rcount
type	 (	RtypeM
	eventTime
 (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	eventTime7
series (2.k8s.io.api.core.v1.EventSeriesRseries
action (	Raction=
related (2#.k8s.io.api.core.v1.ObjectReferenceRrelated.
reportingComponent (	RreportingComponent,
reportingInstance (	RreportingInstance"à
	EventListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata/
items (2.k8s.io.api.core.v1.EventRitems"Ä
EventSeries
count (Rcount[
lastObservedTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRlastObservedTime"?
EventSource
	component (	R	component
host (	Rhost"&

ExecAction
command (	Rcommand"å
FCVolumeSource

targetWWNs (	R
targetWWNs
lun (Rlun
fsType (	RfsType
readOnly (RreadOnly
wwids (	Rwwids"s
FileKeySelector

volumeName (	R
volumeName
path (	Rpath
key (	Rkey
optional (Roptional"æ
FlexPersistentVolumeSource
driver (	Rdriver
fsType (	RfsTypeA
	secretRef (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef
readOnly (RreadOnlyU
options (2;.k8s.io.api.core.v1.FlexPersistentVolumeSource.OptionsEntryRoptions:
OptionsEntry
key (	Rkey
value (	Rvalue:8"Ø
FlexVolumeSource
driver (	Rdriver
fsType (	RfsTypeF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef
readOnly (RreadOnlyK
options (21.k8s.io.api.core.v1.FlexVolumeSource.OptionsEntryRoptions:
OptionsEntry
key (	Rkey
value (	Rvalue:8"Y
FlockerVolumeSource 
datasetName (	RdatasetName 
datasetUUID (	RdatasetUUID"â
GCEPersistentDiskVolumeSource
pdName (	RpdName
fsType (	RfsType
	partition (R	partition
readOnly (RreadOnly":

GRPCAction
port (Rport
service (	Rservice"o
GitRepoVolumeSource

repository (	R
repository
revision (	Rrevision
	directory (	R	directory"ü
GlusterfsPersistentVolumeSource
	endpoints (	R	endpoints
path (	Rpath
readOnly (RreadOnly.
endpointsNamespace (	RendpointsNamespace"e
GlusterfsVolumeSource
	endpoints (	R	endpoints
path (	Rpath
readOnly (RreadOnly"◊
HTTPGetAction
path (	RpathD
port (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRport
host (	Rhost
scheme (	Rscheme@
httpHeaders (2.k8s.io.api.core.v1.HTTPHeaderRhttpHeaders"6

HTTPHeader
name (	Rname
value (	Rvalue"9
	HostAlias
ip (	Rip
	hostnames (	R	hostnames"
HostIP
ip (	Rip">
HostPathVolumeSource
path (	Rpath
type (	Rtype"ú
ISCSIPersistentVolumeSource"
targetPortal (	RtargetPortal
iqn (	Riqn
lun (Rlun&
iscsiInterface (	RiscsiInterface
fsType (	RfsType
readOnly (RreadOnly
portals (	Rportals,
chapAuthDiscovery (RchapAuthDiscovery(
chapAuthSession (RchapAuthSessionA
	secretRef
 (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef$
initiatorName (	RinitiatorName"ó
ISCSIVolumeSource"
targetPortal (	RtargetPortal
iqn (	Riqn
lun (Rlun&
iscsiInterface (	RiscsiInterface
fsType (	RfsType
readOnly (RreadOnly
portals (	Rportals,
chapAuthDiscovery (RchapAuthDiscovery(
chapAuthSession (RchapAuthSessionF
	secretRef
 (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef$
initiatorName (	RinitiatorName"Q
ImageVolumeSource
	reference (	R	reference

pullPolicy (	R
pullPolicy"/
ImageVolumeStatus
imageRef (	RimageRef"E
	KeyToPath
key (	Rkey
path (	Rpath
mode (Rmode"Ø
	LifecycleB
	postStart (2$.k8s.io.api.core.v1.LifecycleHandlerR	postStart>
preStop (2$.k8s.io.api.core.v1.LifecycleHandlerRpreStop

stopSignal (	R
stopSignal"˝
LifecycleHandler2
exec (2.k8s.io.api.core.v1.ExecActionRexec;
httpGet (2!.k8s.io.api.core.v1.HTTPGetActionRhttpGetA
	tcpSocket (2#.k8s.io.api.core.v1.TCPSocketActionR	tcpSocket5
sleep (2.k8s.io.api.core.v1.SleepActionRsleep"í

LimitRangeL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.core.v1.LimitRangeSpecRspec"Á
LimitRangeItem
type (	Rtype=
max (2+.k8s.io.api.core.v1.LimitRangeItem.MaxEntryRmax=
min (2+.k8s.io.api.core.v1.LimitRangeItem.MinEntryRminI
default (2/.k8s.io.api.core.v1.LimitRangeItem.DefaultEntryRdefault^
defaultRequest (26.k8s.io.api.core.v1.LimitRangeItem.DefaultRequestEntryRdefaultRequestp
maxLimitRequestRatio (2<.k8s.io.api.core.v1.LimitRangeItem.MaxLimitRequestRatioEntryRmaxLimitRequestRatiof
MaxEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8f
MinEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8j
DefaultEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8q
DefaultRequestEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8w
MaxLimitRequestRatioEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"í
LimitRangeListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata4
items (2.k8s.io.api.core.v1.LimitRangeRitems"L
LimitRangeSpec:
limits (2".k8s.io.api.core.v1.LimitRangeItemRlimits"h
LinuxContainerUser
uid (Ruid
gid (Rgid.
supplementalGroups (RsupplementalGroups"ó
ListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRitems"è
LoadBalancerIngress
ip (	Rip
hostname (	Rhostname
ipMode (	RipMode4
ports (2.k8s.io.api.core.v1.PortStatusRports"W
LoadBalancerStatusA
ingress (2'.k8s.io.api.core.v1.LoadBalancerIngressRingress"*
LocalObjectReference
name (	Rname"?
LocalVolumeSource
path (	Rpath
fsType (	RfsType"v
ModifyVolumeStatusH
targetVolumeAttributesClassName (	RtargetVolumeAttributesClassName
status (	Rstatus"Y
NFSVolumeSource
server (	Rserver
path (	Rpath
readOnly (RreadOnly"Õ
	NamespaceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata5
spec (2!.k8s.io.api.core.v1.NamespaceSpecRspec;
status (2#.k8s.io.api.core.v1.NamespaceStatusRstatus"Œ
NamespaceCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ê
NamespaceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata3
items (2.k8s.io.api.core.v1.NamespaceRitems"/
NamespaceSpec

finalizers (	R
finalizers"o
NamespaceStatus
phase (	RphaseF

conditions (2&.k8s.io.api.core.v1.NamespaceConditionR
conditions"æ
NodeL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata0
spec (2.k8s.io.api.core.v1.NodeSpecRspec6
status (2.k8s.io.api.core.v1.NodeStatusRstatus";
NodeAddress
type (	Rtype
address (	Raddress"±
NodeAffinityà
.requiredDuringSchedulingIgnoredDuringExecution (2 .k8s.io.api.core.v1.NodeSelectorR.requiredDuringSchedulingIgnoredDuringExecutionï
/preferredDuringSchedulingIgnoredDuringExecution (2+.k8s.io.api.core.v1.PreferredSchedulingTermR/preferredDuringSchedulingIgnoredDuringExecution"≈
"NodeAllocatableResourceClaimStatus,
resourceClaimName (	RresourceClaimName

containers (	R
containersc
	resources (2E.k8s.io.api.core.v1.NodeAllocatableResourceClaimStatus.ResourcesEntryR	resourcesl
ResourcesEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"£
NodeCondition
type (	Rtype
status (	RstatusX
lastHeartbeatTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastHeartbeatTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"_
NodeConfigSourceK
	configMap (2-.k8s.io.api.core.v1.ConfigMapNodeConfigSourceR	configMap"Ù
NodeConfigStatus@
assigned (2$.k8s.io.api.core.v1.NodeConfigSourceRassigned<
active (2$.k8s.io.api.core.v1.NodeConfigSourceRactiveJ
lastKnownGood (2$.k8s.io.api.core.v1.NodeConfigSourceRlastKnownGood
error (	Rerror"c
NodeDaemonEndpointsL
kubeletEndpoint (2".k8s.io.api.core.v1.DaemonEndpointRkubeletEndpoint"J
NodeFeatures:
supplementalGroupsPolicy (RsupplementalGroupsPolicy"Ü
NodeListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata.
items (2.k8s.io.api.core.v1.NodeRitems"&
NodeProxyOptions
path (	Rpath"t
NodeRuntimeHandler
name (	RnameJ
features (2..k8s.io.api.core.v1.NodeRuntimeHandlerFeaturesRfeatures"~
NodeRuntimeHandlerFeatures8
recursiveReadOnlyMounts (RrecursiveReadOnlyMounts&
userNamespaces (RuserNamespaces"b
NodeSelectorR
nodeSelectorTerms (2$.k8s.io.api.core.v1.NodeSelectorTermRnodeSelectorTerms"_
NodeSelectorRequirement
key (	Rkey
operator (	Roperator
values (	Rvalues"∫
NodeSelectorTermW
matchExpressions (2+.k8s.io.api.core.v1.NodeSelectorRequirementRmatchExpressionsM
matchFields (2+.k8s.io.api.core.v1.NodeSelectorRequirementRmatchFields"£
NodeSpec
podCIDR (	RpodCIDR
podCIDRs (	RpodCIDRs

providerID (	R
providerID$
unschedulable (Runschedulable1
taints (2.k8s.io.api.core.v1.TaintRtaintsH
configSource (2$.k8s.io.api.core.v1.NodeConfigSourceRconfigSource

externalID (	R
externalID"Ÿ

NodeStatusH
capacity (2,.k8s.io.api.core.v1.NodeStatus.CapacityEntryRcapacityQ
allocatable (2/.k8s.io.api.core.v1.NodeStatus.AllocatableEntryRallocatable
phase (	RphaseA

conditions (2!.k8s.io.api.core.v1.NodeConditionR
conditions=
	addresses (2.k8s.io.api.core.v1.NodeAddressR	addressesQ
daemonEndpoints (2'.k8s.io.api.core.v1.NodeDaemonEndpointsRdaemonEndpoints>
nodeInfo (2".k8s.io.api.core.v1.NodeSystemInfoRnodeInfo:
images (2".k8s.io.api.core.v1.ContainerImageRimages"
volumesInUse	 (	RvolumesInUseL
volumesAttached
 (2".k8s.io.api.core.v1.AttachedVolumeRvolumesAttached<
config (2$.k8s.io.api.core.v1.NodeConfigStatusRconfigP
runtimeHandlers (2&.k8s.io.api.core.v1.NodeRuntimeHandlerRruntimeHandlers<
features (2 .k8s.io.api.core.v1.NodeFeaturesRfeatures*
declaredFeatures (	RdeclaredFeaturesk
CapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8n
AllocatableEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8",
NodeSwapStatus
capacity (Rcapacity"∫
NodeSystemInfo
	machineID (	R	machineID

systemUUID (	R
systemUUID
bootID (	RbootID$
kernelVersion (	RkernelVersion
osImage (	RosImage8
containerRuntimeVersion (	RcontainerRuntimeVersion&
kubeletVersion (	RkubeletVersion*
kubeProxyVersion (	RkubeProxyVersion(
operatingSystem	 (	RoperatingSystem"
architecture
 (	Rarchitecture6
swap (2".k8s.io.api.core.v1.NodeSwapStatusRswap"S
ObjectFieldSelector

apiVersion (	R
apiVersion
	fieldPath (	R	fieldPath"—
ObjectReference
kind (	Rkind
	namespace (	R	namespace
name (	Rname
uid (	Ruid

apiVersion (	R
apiVersion(
resourceVersion (	RresourceVersion
	fieldPath (	R	fieldPath"‚
PersistentVolumeL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
spec (2(.k8s.io.api.core.v1.PersistentVolumeSpecRspecB
status (2*.k8s.io.api.core.v1.PersistentVolumeStatusRstatus"Ò
PersistentVolumeClaimL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.core.v1.PersistentVolumeClaimSpecRspecG
status (2/.k8s.io.api.core.v1.PersistentVolumeClaimStatusRstatus"¨
PersistentVolumeClaimCondition
type (	Rtype
status (	RstatusP
lastProbeTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastProbeTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"®
PersistentVolumeClaimListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.core.v1.PersistentVolumeClaimRitems"•
PersistentVolumeClaimSpec 
accessModes (	RaccessModesO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselectorL
	resources (2..k8s.io.api.core.v1.VolumeResourceRequirementsR	resources

volumeName (	R
volumeName*
storageClassName (	RstorageClassName

volumeMode (	R
volumeModeM

dataSource (2-.k8s.io.api.core.v1.TypedLocalObjectReferenceR
dataSourceN
dataSourceRef (2(.k8s.io.api.core.v1.TypedObjectReferenceRdataSourceRef<
volumeAttributesClassName	 (	RvolumeAttributesClassName"‚
PersistentVolumeClaimStatus
phase (	Rphase 
accessModes (	RaccessModesY
capacity (2=.k8s.io.api.core.v1.PersistentVolumeClaimStatus.CapacityEntryRcapacityR

conditions (22.k8s.io.api.core.v1.PersistentVolumeClaimConditionR
conditionsw
allocatedResources (2G.k8s.io.api.core.v1.PersistentVolumeClaimStatus.AllocatedResourcesEntryRallocatedResourceså
allocatedResourceStatuses (2N.k8s.io.api.core.v1.PersistentVolumeClaimStatus.AllocatedResourceStatusesEntryRallocatedResourceStatusesJ
 currentVolumeAttributesClassName (	R currentVolumeAttributesClassNameV
modifyVolumeStatus	 (2&.k8s.io.api.core.v1.ModifyVolumeStatusRmodifyVolumeStatusk
CapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8u
AllocatedResourcesEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8L
AllocatedResourceStatusesEntry
key (	Rkey
value (	Rvalue:8"∞
PersistentVolumeClaimTemplateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.core.v1.PersistentVolumeClaimSpecRspec"]
!PersistentVolumeClaimVolumeSource
	claimName (	R	claimName
readOnly (RreadOnly"û
PersistentVolumeListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata:
items (2$.k8s.io.api.core.v1.PersistentVolumeRitems"©
PersistentVolumeSource_
gcePersistentDisk (21.k8s.io.api.core.v1.GCEPersistentDiskVolumeSourceRgcePersistentDiskh
awsElasticBlockStore (24.k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSourceRawsElasticBlockStoreD
hostPath (2(.k8s.io.api.core.v1.HostPathVolumeSourceRhostPathQ
	glusterfs (23.k8s.io.api.core.v1.GlusterfsPersistentVolumeSourceR	glusterfs5
nfs (2#.k8s.io.api.core.v1.NFSVolumeSourceRnfs?
rbd (2-.k8s.io.api.core.v1.RBDPersistentVolumeSourceRrbdE
iscsi (2/.k8s.io.api.core.v1.ISCSIPersistentVolumeSourceRiscsiH
cinder (20.k8s.io.api.core.v1.CinderPersistentVolumeSourceRcinderH
cephfs	 (20.k8s.io.api.core.v1.CephFSPersistentVolumeSourceRcephfs2
fc
 (2".k8s.io.api.core.v1.FCVolumeSourceRfcA
flocker (2'.k8s.io.api.core.v1.FlockerVolumeSourceRflockerN

flexVolume (2..k8s.io.api.core.v1.FlexPersistentVolumeSourceR
flexVolumeQ
	azureFile (23.k8s.io.api.core.v1.AzureFilePersistentVolumeSourceR	azureFileX
vsphereVolume (22.k8s.io.api.core.v1.VsphereVirtualDiskVolumeSourceRvsphereVolumeA
quobyte (2'.k8s.io.api.core.v1.QuobyteVolumeSourceRquobyteG
	azureDisk (2).k8s.io.api.core.v1.AzureDiskVolumeSourceR	azureDiskh
photonPersistentDisk (24.k8s.io.api.core.v1.PhotonPersistentDiskVolumeSourceRphotonPersistentDiskP
portworxVolume (2(.k8s.io.api.core.v1.PortworxVolumeSourceRportworxVolumeK
scaleIO (21.k8s.io.api.core.v1.ScaleIOPersistentVolumeSourceRscaleIO;
local (2%.k8s.io.api.core.v1.LocalVolumeSourceRlocalQ
	storageos (23.k8s.io.api.core.v1.StorageOSPersistentVolumeSourceR	storageos?
csi (2-.k8s.io.api.core.v1.CSIPersistentVolumeSourceRcsi"ﬁ
PersistentVolumeSpecR
capacity (26.k8s.io.api.core.v1.PersistentVolumeSpec.CapacityEntryRcapacityb
persistentVolumeSource (2*.k8s.io.api.core.v1.PersistentVolumeSourceRpersistentVolumeSource 
accessModes (	RaccessModes?
claimRef (2#.k8s.io.api.core.v1.ObjectReferenceRclaimRefD
persistentVolumeReclaimPolicy (	RpersistentVolumeReclaimPolicy*
storageClassName (	RstorageClassName"
mountOptions (	RmountOptions

volumeMode (	R
volumeModeJ
nodeAffinity	 (2&.k8s.io.api.core.v1.VolumeNodeAffinityRnodeAffinity<
volumeAttributesClassName
 (	RvolumeAttributesClassNamek
CapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"∆
PersistentVolumeStatus
phase (	Rphase
message (	Rmessage
reason (	Rreasond
lastPhaseTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastPhaseTransitionTime"N
 PhotonPersistentDiskVolumeSource
pdID (	RpdID
fsType (	RfsType"ª
PodL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata/
spec (2.k8s.io.api.core.v1.PodSpecRspec5
status (2.k8s.io.api.core.v1.PodStatusRstatus"≥
PodAffinityã
.requiredDuringSchedulingIgnoredDuringExecution (2#.k8s.io.api.core.v1.PodAffinityTermR.requiredDuringSchedulingIgnoredDuringExecutionï
/preferredDuringSchedulingIgnoredDuringExecution (2+.k8s.io.api.core.v1.WeightedPodAffinityTermR/preferredDuringSchedulingIgnoredDuringExecution"Á
PodAffinityTermY
labelSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRlabelSelector

namespaces (	R
namespaces 
topologyKey (	RtopologyKeya
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector&
matchLabelKeys (	RmatchLabelKeys,
mismatchLabelKeys (	RmismatchLabelKeys"∑
PodAntiAffinityã
.requiredDuringSchedulingIgnoredDuringExecution (2#.k8s.io.api.core.v1.PodAffinityTermR.requiredDuringSchedulingIgnoredDuringExecutionï
/preferredDuringSchedulingIgnoredDuringExecution (2+.k8s.io.api.core.v1.WeightedPodAffinityTermR/preferredDuringSchedulingIgnoredDuringExecution"à
PodAttachOptions
stdin (Rstdin
stdout (Rstdout
stderr (Rstderr
tty (Rtty
	container (	R	container"ª
PodCertificateProjection

signerName (	R
signerName
keyType (	RkeyType2
maxExpirationSeconds (RmaxExpirationSeconds2
credentialBundlePath (	RcredentialBundlePath
keyPath (	RkeyPath2
certificateChainPath (	RcertificateChainPathk
userAnnotations (2A.k8s.io.api.core.v1.PodCertificateProjection.UserAnnotationsEntryRuserAnnotationsB
UserAnnotationsEntry
key (	Rkey
value (	Rvalue:8" 
PodCondition
type (	Rtype.
observedGeneration (RobservedGeneration
status (	RstatusP
lastProbeTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastProbeTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"é
PodDNSConfig 
nameservers (	Rnameservers
searches (	Rsearches@
options (2&.k8s.io.api.core.v1.PodDNSConfigOptionRoptions">
PodDNSConfigOption
name (	Rname
value (	Rvalue"†
PodExecOptions
stdin (Rstdin
stdout (Rstdout
stderr (Rstderr
tty (Rtty
	container (	R	container
command (	Rcommand"Æ
PodExtendedResourceClaimStatus^
requestMappings (24.k8s.io.api.core.v1.ContainerExtendedResourceRequestRrequestMappings,
resourceClaimName (	RresourceClaimName"
PodIP
ip (	Rip"Ñ
PodListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata-
items (2.k8s.io.api.core.v1.PodRitems"â
PodLogOptions
	container (	R	container
follow (Rfollow
previous (Rprevious"
sinceSeconds (RsinceSecondsH
	sinceTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	sinceTime

timestamps (R
timestamps
	tailLines (R	tailLines

limitBytes (R
limitBytesB
insecureSkipTLSVerifyBackend	 (RinsecureSkipTLSVerifyBackend
stream
 (	Rstream"
PodOS
name (	Rname"-
PodPortForwardOptions
ports (Rports"%
PodProxyOptions
path (	Rpath"8
PodReadinessGate$
conditionType (	RconditionType"í
PodResourceClaim
name (	Rname,
resourceClaimName (	RresourceClaimName<
resourceClaimTemplateName (	RresourceClaimTemplateName"Z
PodResourceClaimStatus
name (	Rname,
resourceClaimName (	RresourceClaimName"'
PodSchedulingGate
name (	Rname"8
PodSchedulingGroup"
podGroupName (	RpodGroupName"ÿ
PodSecurityContextJ
seLinuxOptions (2".k8s.io.api.core.v1.SELinuxOptionsRseLinuxOptionsY
windowsOptions (21.k8s.io.api.core.v1.WindowsSecurityContextOptionsRwindowsOptions
	runAsUser (R	runAsUser

runAsGroup (R
runAsGroup"
runAsNonRoot (RrunAsNonRoot.
supplementalGroups (RsupplementalGroups:
supplementalGroupsPolicy (	RsupplementalGroupsPolicy
fsGroup (RfsGroup4
sysctls (2.k8s.io.api.core.v1.SysctlRsysctls0
fsGroupChangePolicy	 (	RfsGroupChangePolicyJ
seccompProfile
 (2".k8s.io.api.core.v1.SeccompProfileRseccompProfileM
appArmorProfile (2#.k8s.io.api.core.v1.AppArmorProfileRappArmorProfile0
seLinuxChangePolicy (	RseLinuxChangePolicy"j
PodSignatureZ
podController (24.k8s.io.apimachinery.pkg.apis.meta.v1.OwnerReferenceRpodController"ÿ
PodSpec4
volumes (2.k8s.io.api.core.v1.VolumeRvolumesE
initContainers (2.k8s.io.api.core.v1.ContainerRinitContainers=

containers (2.k8s.io.api.core.v1.ContainerR
containersX
ephemeralContainers" (2&.k8s.io.api.core.v1.EphemeralContainerRephemeralContainers$
restartPolicy (	RrestartPolicyD
terminationGracePeriodSeconds (RterminationGracePeriodSeconds4
activeDeadlineSeconds (RactiveDeadlineSeconds
	dnsPolicy (	R	dnsPolicyQ
nodeSelector (2-.k8s.io.api.core.v1.PodSpec.NodeSelectorEntryRnodeSelector.
serviceAccountName (	RserviceAccountName&
serviceAccount	 (	RserviceAccountB
automountServiceAccountToken (RautomountServiceAccountToken
nodeName
 (	RnodeName 
hostNetwork (RhostNetwork
hostPID (RhostPID
hostIPC (RhostIPC4
shareProcessNamespace (RshareProcessNamespaceP
securityContext (2&.k8s.io.api.core.v1.PodSecurityContextRsecurityContextT
imagePullSecrets (2(.k8s.io.api.core.v1.LocalObjectReferenceRimagePullSecrets
hostname (	Rhostname
	subdomain (	R	subdomain8
affinity (2.k8s.io.api.core.v1.AffinityRaffinity$
schedulerName (	RschedulerName@
tolerations (2.k8s.io.api.core.v1.TolerationRtolerations?
hostAliases (2.k8s.io.api.core.v1.HostAliasRhostAliases,
priorityClassName (	RpriorityClassName
priority (Rpriority>
	dnsConfig (2 .k8s.io.api.core.v1.PodDNSConfigR	dnsConfigL
readinessGates (2$.k8s.io.api.core.v1.PodReadinessGateRreadinessGates*
runtimeClassName (	RruntimeClassName.
enableServiceLinks (RenableServiceLinks*
preemptionPolicy (	RpreemptionPolicyE
overhead  (2).k8s.io.api.core.v1.PodSpec.OverheadEntryRoverheadj
topologySpreadConstraints! (2,.k8s.io.api.core.v1.TopologySpreadConstraintRtopologySpreadConstraints,
setHostnameAsFQDN# (RsetHostnameAsFQDN)
os$ (2.k8s.io.api.core.v1.PodOSRos
	hostUsers% (R	hostUsersO
schedulingGates& (2%.k8s.io.api.core.v1.PodSchedulingGateRschedulingGatesL
resourceClaims' (2$.k8s.io.api.core.v1.PodResourceClaimRresourceClaimsF
	resources( (2(.k8s.io.api.core.v1.ResourceRequirementsR	resources*
hostnameOverride) (	RhostnameOverrideP
schedulingGroup+ (2&.k8s.io.api.core.v1.PodSchedulingGroupRschedulingGroup?
NodeSelectorEntry
key (	Rkey
value (	Rvalue:8k
OverheadEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"¶
	PodStatus.
observedGeneration (RobservedGeneration
phase (	Rphase@

conditions (2 .k8s.io.api.core.v1.PodConditionR
conditions
message (	Rmessage
reason (	Rreason,
nominatedNodeName (	RnominatedNodeName
hostIP (	RhostIP4
hostIPs (2.k8s.io.api.core.v1.HostIPRhostIPs
podIP (	RpodIP1
podIPs (2.k8s.io.api.core.v1.PodIPRpodIPsH
	startTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	startTimeY
initContainerStatuses
 (2#.k8s.io.api.core.v1.ContainerStatusRinitContainerStatusesQ
containerStatuses (2#.k8s.io.api.core.v1.ContainerStatusRcontainerStatuses
qosClass	 (	RqosClassc
ephemeralContainerStatuses (2#.k8s.io.api.core.v1.ContainerStatusRephemeralContainerStatuses
resize (	Rresize`
resourceClaimStatuses (2*.k8s.io.api.core.v1.PodResourceClaimStatusRresourceClaimStatusest
extendedResourceClaimStatus (22.k8s.io.api.core.v1.PodExtendedResourceClaimStatusRextendedResourceClaimStatuse
allocatedResources (25.k8s.io.api.core.v1.PodStatus.AllocatedResourcesEntryRallocatedResourcesF
	resources (2(.k8s.io.api.core.v1.ResourceRequirementsR	resourcesä
$nodeAllocatableResourceClaimStatuses (26.k8s.io.api.core.v1.NodeAllocatableResourceClaimStatusR$nodeAllocatableResourceClaimStatusesu
AllocatedResourcesEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"ñ
PodStatusResultL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata5
status (2.k8s.io.api.core.v1.PodStatusRstatus"ú
PodTemplateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate"î
PodTemplateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata5
items (2.k8s.io.api.core.v1.PodTemplateRitems"ê
PodTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata/
spec (2.k8s.io.api.core.v1.PodSpecRspec"R

PortStatus
port (Rport
protocol (	Rprotocol
error (	Rerror"f
PortworxVolumeSource
volumeID (	RvolumeID
fsType (	RfsType
readOnly (RreadOnly"!
Preconditions
uid (	Ruid"ﬁ
PreferAvoidPodsEntryD
podSignature (2 .k8s.io.api.core.v1.PodSignatureRpodSignatureN
evictionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRevictionTime
reason (	Rreason
message (	Rmessage"w
PreferredSchedulingTerm
weight (RweightD

preference (2$.k8s.io.api.core.v1.NodeSelectorTermR
preference"·
Probe:
handler (2 .k8s.io.api.core.v1.ProbeHandlerRhandler0
initialDelaySeconds (RinitialDelaySeconds&
timeoutSeconds (RtimeoutSeconds$
periodSeconds (RperiodSeconds*
successThreshold (RsuccessThreshold*
failureThreshold (RfailureThresholdD
terminationGracePeriodSeconds (RterminationGracePeriodSeconds"ˆ
ProbeHandler2
exec (2.k8s.io.api.core.v1.ExecActionRexec;
httpGet (2!.k8s.io.api.core.v1.HTTPGetActionRhttpGetA
	tcpSocket (2#.k8s.io.api.core.v1.TCPSocketActionR	tcpSocket2
grpc (2.k8s.io.api.core.v1.GRPCActionRgrpc"y
ProjectedVolumeSource>
sources (2$.k8s.io.api.core.v1.VolumeProjectionRsources 
defaultMode (RdefaultMode"ß
QuobyteVolumeSource
registry (	Rregistry
volume (	Rvolume
readOnly (RreadOnly
user (	Ruser
group (	Rgroup
tenant (	Rtenant"Ü
RBDPersistentVolumeSource
monitors (	Rmonitors
image (	Rimage
fsType (	RfsType
pool (	Rpool
user (	Ruser
keyring (	RkeyringA
	secretRef (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef
readOnly (RreadOnly"Å
RBDVolumeSource
monitors (	Rmonitors
image (	Rimage
fsType (	RfsType
pool (	Rpool
user (	Ruser
keyring (	RkeyringF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef
readOnly (RreadOnly"â
RangeAllocationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
range (	Rrange
data (Rdata"Ò
ReplicationControllerL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.core.v1.ReplicationControllerSpecRspecG
status (2/.k8s.io.api.core.v1.ReplicationControllerStatusRstatus"⁄
ReplicationControllerCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"®
ReplicationControllerListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.core.v1.ReplicationControllerRitems"∏
ReplicationControllerSpec
replicas (Rreplicas(
minReadySeconds (RminReadySecondsW
selector (2;.k8s.io.api.core.v1.ReplicationControllerSpec.SelectorEntryRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate;
SelectorEntry
key (	Rkey
value (	Rvalue:8"≈
ReplicationControllerStatus
replicas (Rreplicas2
fullyLabeledReplicas (RfullyLabeledReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas.
observedGeneration (RobservedGenerationR

conditions (22.k8s.io.api.core.v1.ReplicationControllerConditionR
conditions"=
ResourceClaim
name (	Rname
request (	Rrequest"£
ResourceFieldSelector$
containerName (	RcontainerName
resource (	RresourceH
divisor (2..k8s.io.apimachinery.pkg.api.resource.QuantityRdivisor"b
ResourceHealth

resourceID (	R
resourceID
health (	Rhealth
message (	Rmessage"Ÿ
ResourceQuotaL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
spec (2%.k8s.io.api.core.v1.ResourceQuotaSpecRspec?
status (2'.k8s.io.api.core.v1.ResourceQuotaStatusRstatus"ò
ResourceQuotaListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata7
items (2!.k8s.io.api.core.v1.ResourceQuotaRitems"¢
ResourceQuotaSpecC
hard (2/.k8s.io.api.core.v1.ResourceQuotaSpec.HardEntryRhard
scopes (	RscopesG
scopeSelector (2!.k8s.io.api.core.v1.ScopeSelectorRscopeSelectorg
	HardEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"ı
ResourceQuotaStatusE
hard (21.k8s.io.api.core.v1.ResourceQuotaStatus.HardEntryRhardE
used (21.k8s.io.api.core.v1.ResourceQuotaStatus.UsedEntryRusedg
	HardEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8g
	UsedEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"À
ResourceRequirementsL
limits (24.k8s.io.api.core.v1.ResourceRequirements.LimitsEntryRlimitsR
requests (26.k8s.io.api.core.v1.ResourceRequirements.RequestsEntryRrequests9
claims (2!.k8s.io.api.core.v1.ResourceClaimRclaimsi
LimitsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8k
RequestsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"f
ResourceStatus
name (	Rname@
	resources (2".k8s.io.api.core.v1.ResourceHealthR	resources"b
SELinuxOptions
user (	Ruser
role (	Rrole
type (	Rtype
level (	Rlevel"¯
ScaleIOPersistentVolumeSource
gateway (	Rgateway
system (	RsystemA
	secretRef (2#.k8s.io.api.core.v1.SecretReferenceR	secretRef

sslEnabled (R
sslEnabled*
protectionDomain (	RprotectionDomain 
storagePool (	RstoragePool 
storageMode (	RstorageMode

volumeName (	R
volumeName
fsType	 (	RfsType
readOnly
 (RreadOnly"Û
ScaleIOVolumeSource
gateway (	Rgateway
system (	RsystemF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef

sslEnabled (R
sslEnabled*
protectionDomain (	RprotectionDomain 
storagePool (	RstoragePool 
storageMode (	RstorageMode

volumeName (	R
volumeName
fsType	 (	RfsType
readOnly
 (RreadOnly"r
ScopeSelectora
matchExpressions (25.k8s.io.api.core.v1.ScopedResourceSelectorRequirementRmatchExpressions"u
!ScopedResourceSelectorRequirement
	scopeName (	R	scopeName
operator (	Roperator
values (	Rvalues"P
SeccompProfile
type (	Rtype*
localhostProfile (	RlocalhostProfile"Ü
SecretL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
	immutable (R	immutable8
data (2$.k8s.io.api.core.v1.Secret.DataEntryRdataJ

stringData (2*.k8s.io.api.core.v1.Secret.StringDataEntryR
stringData
type (	Rtype7
	DataEntry
key (	Rkey
value (Rvalue:8=
StringDataEntry
key (	Rkey
value (	Rvalue:8"ã
SecretEnvSource\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference
optional (Roptional"ü
SecretKeySelector\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference
key (	Rkey
optional (Roptional"ä

SecretListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata0
items (2.k8s.io.api.core.v1.SecretRitems"¡
SecretProjection\
localObjectReference (2(.k8s.io.api.core.v1.LocalObjectReferenceRlocalObjectReference3
items (2.k8s.io.api.core.v1.KeyToPathRitems
optional (Roptional"C
SecretReference
name (	Rname
	namespace (	R	namespace"ß
SecretVolumeSource

secretName (	R
secretName3
items (2.k8s.io.api.core.v1.KeyToPathRitems 
defaultMode (RdefaultMode
optional (Roptional"≠
SecurityContextD
capabilities (2 .k8s.io.api.core.v1.CapabilitiesRcapabilities

privileged (R
privilegedJ
seLinuxOptions (2".k8s.io.api.core.v1.SELinuxOptionsRseLinuxOptionsY
windowsOptions
 (21.k8s.io.api.core.v1.WindowsSecurityContextOptionsRwindowsOptions
	runAsUser (R	runAsUser

runAsGroup (R
runAsGroup"
runAsNonRoot (RrunAsNonRoot6
readOnlyRootFilesystem (RreadOnlyRootFilesystem:
allowPrivilegeEscalation (RallowPrivilegeEscalation
	procMount	 (	R	procMountJ
seccompProfile (2".k8s.io.api.core.v1.SeccompProfileRseccompProfileM
appArmorProfile (2#.k8s.io.api.core.v1.AppArmorProfileRappArmorProfile"X
SerializedReferenceA
	reference (2#.k8s.io.api.core.v1.ObjectReferenceR	reference"«
ServiceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata3
spec (2.k8s.io.api.core.v1.ServiceSpecRspec9
status (2!.k8s.io.api.core.v1.ServiceStatusRstatus"∑
ServiceAccountL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
secrets (2#.k8s.io.api.core.v1.ObjectReferenceRsecretsT
imagePullSecrets (2(.k8s.io.api.core.v1.LocalObjectReferenceRimagePullSecretsB
automountServiceAccountToken (RautomountServiceAccountToken"ö
ServiceAccountListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata8
items (2".k8s.io.api.core.v1.ServiceAccountRitems"}
ServiceAccountTokenProjection
audience (	Raudience,
expirationSeconds (RexpirationSeconds
path (	Rpath"å
ServiceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata1
items (2.k8s.io.api.core.v1.ServiceRitems"·
ServicePort
name (	Rname
protocol (	Rprotocol 
appProtocol (	RappProtocol
port (RportP

targetPort (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringR
targetPort
nodePort (RnodePort")
ServiceProxyOptions
path (	Rpath"õ
ServiceSpec5
ports (2.k8s.io.api.core.v1.ServicePortRportsI
selector (2-.k8s.io.api.core.v1.ServiceSpec.SelectorEntryRselector
	clusterIP (	R	clusterIP

clusterIPs (	R
clusterIPs
type (	Rtype 
externalIPs (	RexternalIPs(
sessionAffinity (	RsessionAffinity&
loadBalancerIP (	RloadBalancerIP:
loadBalancerSourceRanges	 (	RloadBalancerSourceRanges"
externalName
 (	RexternalName4
externalTrafficPolicy (	RexternalTrafficPolicy0
healthCheckNodePort (RhealthCheckNodePort:
publishNotReadyAddresses (RpublishNotReadyAddresses_
sessionAffinityConfig (2).k8s.io.api.core.v1.SessionAffinityConfigRsessionAffinityConfig

ipFamilies (	R
ipFamilies&
ipFamilyPolicy (	RipFamilyPolicyD
allocateLoadBalancerNodePorts (RallocateLoadBalancerNodePorts,
loadBalancerClass (	RloadBalancerClass4
internalTrafficPolicy (	RinternalTrafficPolicy0
trafficDistribution (	RtrafficDistribution;
SelectorEntry
key (	Rkey
value (	Rvalue:8"¨
ServiceStatusJ
loadBalancer (2&.k8s.io.api.core.v1.LoadBalancerStatusRloadBalancerO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"W
SessionAffinityConfig>
clientIP (2".k8s.io.api.core.v1.ClientIPConfigRclientIP"'
SleepAction
seconds (Rseconds"‚
StorageOSPersistentVolumeSource

volumeName (	R
volumeName(
volumeNamespace (	RvolumeNamespace
fsType (	RfsType
readOnly (RreadOnlyA
	secretRef (2#.k8s.io.api.core.v1.ObjectReferenceR	secretRef"›
StorageOSVolumeSource

volumeName (	R
volumeName(
volumeNamespace (	RvolumeNamespace
fsType (	RfsType
readOnly (RreadOnlyF
	secretRef (2(.k8s.io.api.core.v1.LocalObjectReferenceR	secretRef"2
Sysctl
name (	Rname
value (	Rvalue"k
TCPSocketActionD
port (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRport
host (	Rhost"ë
Taint
key (	Rkey
value (	Rvalue
effect (	ReffectH
	timeAdded (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	timeAdded"ñ

Toleration
key (	Rkey
operator (	Roperator
value (	Rvalue
effect (	Reffect,
tolerationSeconds (RtolerationSeconds"L
 TopologySelectorLabelRequirement
key (	Rkey
values (	Rvalues"Ç
TopologySelectorTermj
matchLabelExpressions (24.k8s.io.api.core.v1.TopologySelectorLabelRequirementRmatchLabelExpressions"É
TopologySpreadConstraint
maxSkew (RmaxSkew 
topologyKey (	RtopologyKey,
whenUnsatisfiable (	RwhenUnsatisfiableY
labelSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRlabelSelector

minDomains (R
minDomains.
nodeAffinityPolicy (	RnodeAffinityPolicy*
nodeTaintsPolicy (	RnodeTaintsPolicy&
matchLabelKeys (	RmatchLabelKeys"_
TypedLocalObjectReference
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname"x
TypedObjectReference
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname
	namespace (	R	namespace"b
Volume
name (	RnameD
volumeSource (2 .k8s.io.api.core.v1.VolumeSourceRvolumeSource"B
VolumeDevice
name (	Rname

devicePath (	R
devicePath"Ò
VolumeMount
name (	Rname
readOnly (RreadOnly,
recursiveReadOnly (	RrecursiveReadOnly
	mountPath (	R	mountPath
subPath (	RsubPath*
mountPropagation (	RmountPropagation 
subPathExpr (	RsubPathExpr"’
VolumeMountStatus
name (	Rname
	mountPath (	R	mountPath
readOnly (RreadOnly,
recursiveReadOnly (	RrecursiveReadOnlyD
volumeStatus (2 .k8s.io.api.core.v1.VolumeStatusRvolumeStatus"R
VolumeNodeAffinity<
required (2 .k8s.io.api.core.v1.NodeSelectorRrequired"Å
VolumeProjection<
secret (2$.k8s.io.api.core.v1.SecretProjectionRsecretK
downwardAPI (2).k8s.io.api.core.v1.DownwardAPIProjectionRdownwardAPIE
	configMap (2'.k8s.io.api.core.v1.ConfigMapProjectionR	configMapc
serviceAccountToken (21.k8s.io.api.core.v1.ServiceAccountTokenProjectionRserviceAccountToken`
clusterTrustBundle (20.k8s.io.api.core.v1.ClusterTrustBundleProjectionRclusterTrustBundleT
podCertificate (2,.k8s.io.api.core.v1.PodCertificateProjectionRpodCertificate"¢
VolumeResourceRequirementsR
limits (2:.k8s.io.api.core.v1.VolumeResourceRequirements.LimitsEntryRlimitsX
requests (2<.k8s.io.api.core.v1.VolumeResourceRequirements.RequestsEntryRrequestsi
LimitsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8k
RequestsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"õ
VolumeSourceD
hostPath (2(.k8s.io.api.core.v1.HostPathVolumeSourceRhostPathD
emptyDir (2(.k8s.io.api.core.v1.EmptyDirVolumeSourceRemptyDir_
gcePersistentDisk (21.k8s.io.api.core.v1.GCEPersistentDiskVolumeSourceRgcePersistentDiskh
awsElasticBlockStore (24.k8s.io.api.core.v1.AWSElasticBlockStoreVolumeSourceRawsElasticBlockStoreA
gitRepo (2'.k8s.io.api.core.v1.GitRepoVolumeSourceRgitRepo>
secret (2&.k8s.io.api.core.v1.SecretVolumeSourceRsecret5
nfs (2#.k8s.io.api.core.v1.NFSVolumeSourceRnfs;
iscsi (2%.k8s.io.api.core.v1.ISCSIVolumeSourceRiscsiG
	glusterfs	 (2).k8s.io.api.core.v1.GlusterfsVolumeSourceR	glusterfsk
persistentVolumeClaim
 (25.k8s.io.api.core.v1.PersistentVolumeClaimVolumeSourceRpersistentVolumeClaim5
rbd (2#.k8s.io.api.core.v1.RBDVolumeSourceRrbdD

flexVolume (2$.k8s.io.api.core.v1.FlexVolumeSourceR
flexVolume>
cinder (2&.k8s.io.api.core.v1.CinderVolumeSourceRcinder>
cephfs (2&.k8s.io.api.core.v1.CephFSVolumeSourceRcephfsA
flocker (2'.k8s.io.api.core.v1.FlockerVolumeSourceRflockerM
downwardAPI (2+.k8s.io.api.core.v1.DownwardAPIVolumeSourceRdownwardAPI2
fc (2".k8s.io.api.core.v1.FCVolumeSourceRfcG
	azureFile (2).k8s.io.api.core.v1.AzureFileVolumeSourceR	azureFileG
	configMap (2).k8s.io.api.core.v1.ConfigMapVolumeSourceR	configMapX
vsphereVolume (22.k8s.io.api.core.v1.VsphereVirtualDiskVolumeSourceRvsphereVolumeA
quobyte (2'.k8s.io.api.core.v1.QuobyteVolumeSourceRquobyteG
	azureDisk (2).k8s.io.api.core.v1.AzureDiskVolumeSourceR	azureDiskh
photonPersistentDisk (24.k8s.io.api.core.v1.PhotonPersistentDiskVolumeSourceRphotonPersistentDiskG
	projected (2).k8s.io.api.core.v1.ProjectedVolumeSourceR	projectedP
portworxVolume (2(.k8s.io.api.core.v1.PortworxVolumeSourceRportworxVolumeA
scaleIO (2'.k8s.io.api.core.v1.ScaleIOVolumeSourceRscaleIOG
	storageos (2).k8s.io.api.core.v1.StorageOSVolumeSourceR	storageos5
csi (2#.k8s.io.api.core.v1.CSIVolumeSourceRcsiG
	ephemeral (2).k8s.io.api.core.v1.EphemeralVolumeSourceR	ephemeral;
image (2%.k8s.io.api.core.v1.ImageVolumeSourceRimage"K
VolumeStatus;
image (2%.k8s.io.api.core.v1.ImageVolumeStatusRimage"∞
VsphereVirtualDiskVolumeSource

volumePath (	R
volumePath
fsType (	RfsType,
storagePolicyName (	RstoragePolicyName(
storagePolicyID (	RstoragePolicyID"Ä
WeightedPodAffinityTerm
weight (RweightM
podAffinityTerm (2#.k8s.io.api.core.v1.PodAffinityTermRpodAffinityTerm"œ
WindowsSecurityContextOptions6
gmsaCredentialSpecName (	RgmsaCredentialSpecName.
gmsaCredentialSpec (	RgmsaCredentialSpec$
runAsUserName (	RrunAsUserName 
hostProcess (RhostProcessBZk8s.io/api/core/v1
©<
"k8s.io/api/apps/v1/generated.protok8s.io.api.apps.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"¡
ControllerRevisionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdata
revision (Rrevision"¢
ControllerRevisionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.apps.v1.ControllerRevisionRitems"Õ
	DaemonSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata5
spec (2!.k8s.io.api.apps.v1.DaemonSetSpecRspec;
status (2#.k8s.io.api.apps.v1.DaemonSetStatusRstatus"Œ
DaemonSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ê
DaemonSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata3
items (2.k8s.io.api.apps.v1.DaemonSetRitems"‘
DaemonSetSpecO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateS
updateStrategy (2+.k8s.io.api.apps.v1.DaemonSetUpdateStrategyRupdateStrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit"É
DaemonSetStatus6
currentNumberScheduled (RcurrentNumberScheduled.
numberMisscheduled (RnumberMisscheduled6
desiredNumberScheduled (RdesiredNumberScheduled 
numberReady (RnumberReady.
observedGeneration (RobservedGeneration6
updatedNumberScheduled (RupdatedNumberScheduled(
numberAvailable (RnumberAvailable,
numberUnavailable (RnumberUnavailable&
collisionCount	 (RcollisionCountF

conditions
 (2&.k8s.io.api.apps.v1.DaemonSetConditionR
conditions"
DaemonSetUpdateStrategy
type (	RtypeP
rollingUpdate (2*.k8s.io.api.apps.v1.RollingUpdateDaemonSetRrollingUpdate"–

DeploymentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.apps.v1.DeploymentSpecRspec<
status (2$.k8s.io.api.apps.v1.DeploymentStatusRstatus"£
DeploymentCondition
type (	Rtype
status (	RstatusR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"í
DeploymentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata4
items (2.k8s.io.api.apps.v1.DeploymentRitems"≤
DeploymentSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateB
strategy (2&.k8s.io.api.apps.v1.DeploymentStrategyRstrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit
paused (Rpaused8
progressDeadlineSeconds	 (RprogressDeadlineSeconds"±
DeploymentStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas(
updatedReplicas (RupdatedReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
unavailableReplicas (RunavailableReplicas0
terminatingReplicas	 (RterminatingReplicasG

conditions (2'.k8s.io.api.apps.v1.DeploymentConditionR
conditions&
collisionCount (RcollisionCount"{
DeploymentStrategy
type (	RtypeQ
rollingUpdate (2+.k8s.io.api.apps.v1.RollingUpdateDeploymentRrollingUpdate"–

ReplicaSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.apps.v1.ReplicaSetSpecRspec<
status (2$.k8s.io.api.apps.v1.ReplicaSetStatusRstatus"œ
ReplicaSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"í
ReplicaSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata4
items (2.k8s.io.api.apps.v1.ReplicaSetRitems"Ë
ReplicaSetSpec
replicas (Rreplicas(
minReadySeconds (RminReadySecondsO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate"·
ReplicaSetStatus
replicas (Rreplicas2
fullyLabeledReplicas (RfullyLabeledReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
terminatingReplicas (RterminatingReplicas.
observedGeneration (RobservedGenerationG

conditions (2'.k8s.io.api.apps.v1.ReplicaSetConditionR
conditions"¿
RollingUpdateDaemonSetX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"¡
RollingUpdateDeploymentX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"ö
 RollingUpdateStatefulSetStrategy
	partition (R	partitionX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailable"”
StatefulSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata7
spec (2#.k8s.io.api.apps.v1.StatefulSetSpecRspec=
status (2%.k8s.io.api.apps.v1.StatefulSetStatusRstatus"–
StatefulSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"î
StatefulSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata5
items (2.k8s.io.api.apps.v1.StatefulSetRitems"+
StatefulSetOrdinals
start (Rstart"s
/StatefulSetPersistentVolumeClaimRetentionPolicy 
whenDeleted (	RwhenDeleted

whenScaled (	R
whenScaled"Ü
StatefulSetSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate]
volumeClaimTemplates (2).k8s.io.api.core.v1.PersistentVolumeClaimRvolumeClaimTemplates 
serviceName (	RserviceName0
podManagementPolicy (	RpodManagementPolicyU
updateStrategy (2-.k8s.io.api.apps.v1.StatefulSetUpdateStrategyRupdateStrategy2
revisionHistoryLimit (RrevisionHistoryLimit(
minReadySeconds	 (RminReadySecondsó
$persistentVolumeClaimRetentionPolicy
 (2C.k8s.io.api.apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicyR$persistentVolumeClaimRetentionPolicyC
ordinals (2'.k8s.io.api.apps.v1.StatefulSetOrdinalsRordinals"À
StatefulSetStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas$
readyReplicas (RreadyReplicas(
currentReplicas (RcurrentReplicas(
updatedReplicas (RupdatedReplicas(
currentRevision (	RcurrentRevision&
updateRevision (	RupdateRevision&
collisionCount	 (RcollisionCountH

conditions
 (2(.k8s.io.api.apps.v1.StatefulSetConditionR
conditions,
availableReplicas (RavailableReplicas"ã
StatefulSetUpdateStrategy
type (	RtypeZ
rollingUpdate (24.k8s.io.api.apps.v1.RollingUpdateStatefulSetStrategyRrollingUpdateBZk8s.io/api/apps/v1
•-
'k8s.io/api/apps/v1beta1/generated.protok8s.io.api.apps.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"¡
ControllerRevisionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdata
revision (Rrevision"ß
ControllerRevisionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataA
items (2+.k8s.io.api.apps.v1beta1.ControllerRevisionRitems"⁄

DeploymentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.apps.v1beta1.DeploymentSpecRspecA
status (2).k8s.io.api.apps.v1beta1.DeploymentStatusRstatus"£
DeploymentCondition
type (	Rtype
status (	RstatusR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ó
DeploymentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.apps.v1beta1.DeploymentRitems"≠
DeploymentRollback
name (	Rnames
updatedAnnotations (2C.k8s.io.api.apps.v1beta1.DeploymentRollback.UpdatedAnnotationsEntryRupdatedAnnotationsG

rollbackTo (2'.k8s.io.api.apps.v1beta1.RollbackConfigR
rollbackToE
UpdatedAnnotationsEntry
key (	Rkey
value (	Rvalue:8"Ä
DeploymentSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateG
strategy (2+.k8s.io.api.apps.v1beta1.DeploymentStrategyRstrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit
paused (RpausedG

rollbackTo (2'.k8s.io.api.apps.v1beta1.RollbackConfigR
rollbackTo8
progressDeadlineSeconds	 (RprogressDeadlineSeconds"∂
DeploymentStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas(
updatedReplicas (RupdatedReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
unavailableReplicas (RunavailableReplicas0
terminatingReplicas	 (RterminatingReplicasL

conditions (2,.k8s.io.api.apps.v1beta1.DeploymentConditionR
conditions&
collisionCount (RcollisionCount"Ä
DeploymentStrategy
type (	RtypeV
rollingUpdate (20.k8s.io.api.apps.v1beta1.RollingUpdateDeploymentRrollingUpdate",
RollbackConfig
revision (Rrevision"¡
RollingUpdateDeploymentX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"ö
 RollingUpdateStatefulSetStrategy
	partition (R	partitionX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailable"À
ScaleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.apps.v1beta1.ScaleSpecRspec<
status (2$.k8s.io.api.apps.v1beta1.ScaleStatusRstatus"'
	ScaleSpec
replicas (Rreplicas"ﬁ
ScaleStatus
replicas (RreplicasN
selector (22.k8s.io.api.apps.v1beta1.ScaleStatus.SelectorEntryRselector&
targetSelector (	RtargetSelector;
SelectorEntry
key (	Rkey
value (	Rvalue:8"›
StatefulSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
spec (2(.k8s.io.api.apps.v1beta1.StatefulSetSpecRspecB
status (2*.k8s.io.api.apps.v1beta1.StatefulSetStatusRstatus"–
StatefulSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ô
StatefulSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata:
items (2$.k8s.io.api.apps.v1beta1.StatefulSetRitems"+
StatefulSetOrdinals
start (Rstart"s
/StatefulSetPersistentVolumeClaimRetentionPolicy 
whenDeleted (	RwhenDeleted

whenScaled (	R
whenScaled"ï
StatefulSetSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate]
volumeClaimTemplates (2).k8s.io.api.core.v1.PersistentVolumeClaimRvolumeClaimTemplates 
serviceName (	RserviceName0
podManagementPolicy (	RpodManagementPolicyZ
updateStrategy (22.k8s.io.api.apps.v1beta1.StatefulSetUpdateStrategyRupdateStrategy2
revisionHistoryLimit (RrevisionHistoryLimit(
minReadySeconds	 (RminReadySecondsú
$persistentVolumeClaimRetentionPolicy
 (2H.k8s.io.api.apps.v1beta1.StatefulSetPersistentVolumeClaimRetentionPolicyR$persistentVolumeClaimRetentionPolicyH
ordinals (2,.k8s.io.api.apps.v1beta1.StatefulSetOrdinalsRordinals"–
StatefulSetStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas$
readyReplicas (RreadyReplicas(
currentReplicas (RcurrentReplicas(
updatedReplicas (RupdatedReplicas(
currentRevision (	RcurrentRevision&
updateRevision (	RupdateRevision&
collisionCount	 (RcollisionCountM

conditions
 (2-.k8s.io.api.apps.v1beta1.StatefulSetConditionR
conditions,
availableReplicas (RavailableReplicas"ê
StatefulSetUpdateStrategy
type (	Rtype_
rollingUpdate (29.k8s.io.api.apps.v1beta1.RollingUpdateStatefulSetStrategyRrollingUpdateBZk8s.io/api/apps/v1beta1
èA
'k8s.io/api/apps/v1beta2/generated.protok8s.io.api.apps.v1beta2"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"¡
ControllerRevisionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdata
revision (Rrevision"ß
ControllerRevisionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataA
items (2+.k8s.io.api.apps.v1beta2.ControllerRevisionRitems"◊
	DaemonSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata:
spec (2&.k8s.io.api.apps.v1beta2.DaemonSetSpecRspec@
status (2(.k8s.io.api.apps.v1beta2.DaemonSetStatusRstatus"Œ
DaemonSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ï
DaemonSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata8
items (2".k8s.io.api.apps.v1beta2.DaemonSetRitems"Ÿ
DaemonSetSpecO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateX
updateStrategy (20.k8s.io.api.apps.v1beta2.DaemonSetUpdateStrategyRupdateStrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit"à
DaemonSetStatus6
currentNumberScheduled (RcurrentNumberScheduled.
numberMisscheduled (RnumberMisscheduled6
desiredNumberScheduled (RdesiredNumberScheduled 
numberReady (RnumberReady.
observedGeneration (RobservedGeneration6
updatedNumberScheduled (RupdatedNumberScheduled(
numberAvailable (RnumberAvailable,
numberUnavailable (RnumberUnavailable&
collisionCount	 (RcollisionCountK

conditions
 (2+.k8s.io.api.apps.v1beta2.DaemonSetConditionR
conditions"Ñ
DaemonSetUpdateStrategy
type (	RtypeU
rollingUpdate (2/.k8s.io.api.apps.v1beta2.RollingUpdateDaemonSetRrollingUpdate"⁄

DeploymentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.apps.v1beta2.DeploymentSpecRspecA
status (2).k8s.io.api.apps.v1beta2.DeploymentStatusRstatus"£
DeploymentCondition
type (	Rtype
status (	RstatusR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ó
DeploymentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.apps.v1beta2.DeploymentRitems"∑
DeploymentSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateG
strategy (2+.k8s.io.api.apps.v1beta2.DeploymentStrategyRstrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit
paused (Rpaused8
progressDeadlineSeconds	 (RprogressDeadlineSeconds"∂
DeploymentStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas(
updatedReplicas (RupdatedReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
unavailableReplicas (RunavailableReplicas0
terminatingReplicas	 (RterminatingReplicasL

conditions (2,.k8s.io.api.apps.v1beta2.DeploymentConditionR
conditions&
collisionCount (RcollisionCount"Ä
DeploymentStrategy
type (	RtypeV
rollingUpdate (20.k8s.io.api.apps.v1beta2.RollingUpdateDeploymentRrollingUpdate"⁄

ReplicaSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.apps.v1beta2.ReplicaSetSpecRspecA
status (2).k8s.io.api.apps.v1beta2.ReplicaSetStatusRstatus"œ
ReplicaSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ó
ReplicaSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.apps.v1beta2.ReplicaSetRitems"Ë
ReplicaSetSpec
replicas (Rreplicas(
minReadySeconds (RminReadySecondsO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate"Ê
ReplicaSetStatus
replicas (Rreplicas2
fullyLabeledReplicas (RfullyLabeledReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
terminatingReplicas (RterminatingReplicas.
observedGeneration (RobservedGenerationL

conditions (2,.k8s.io.api.apps.v1beta2.ReplicaSetConditionR
conditions"¿
RollingUpdateDaemonSetX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"¡
RollingUpdateDeploymentX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"ö
 RollingUpdateStatefulSetStrategy
	partition (R	partitionX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailable"À
ScaleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.apps.v1beta2.ScaleSpecRspec<
status (2$.k8s.io.api.apps.v1beta2.ScaleStatusRstatus"'
	ScaleSpec
replicas (Rreplicas"ﬁ
ScaleStatus
replicas (RreplicasN
selector (22.k8s.io.api.apps.v1beta2.ScaleStatus.SelectorEntryRselector&
targetSelector (	RtargetSelector;
SelectorEntry
key (	Rkey
value (	Rvalue:8"›
StatefulSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
spec (2(.k8s.io.api.apps.v1beta2.StatefulSetSpecRspecB
status (2*.k8s.io.api.apps.v1beta2.StatefulSetStatusRstatus"–
StatefulSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ô
StatefulSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata:
items (2$.k8s.io.api.apps.v1beta2.StatefulSetRitems"+
StatefulSetOrdinals
start (Rstart"s
/StatefulSetPersistentVolumeClaimRetentionPolicy 
whenDeleted (	RwhenDeleted

whenScaled (	R
whenScaled"ï
StatefulSetSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate]
volumeClaimTemplates (2).k8s.io.api.core.v1.PersistentVolumeClaimRvolumeClaimTemplates 
serviceName (	RserviceName0
podManagementPolicy (	RpodManagementPolicyZ
updateStrategy (22.k8s.io.api.apps.v1beta2.StatefulSetUpdateStrategyRupdateStrategy2
revisionHistoryLimit (RrevisionHistoryLimit(
minReadySeconds	 (RminReadySecondsú
$persistentVolumeClaimRetentionPolicy
 (2H.k8s.io.api.apps.v1beta2.StatefulSetPersistentVolumeClaimRetentionPolicyR$persistentVolumeClaimRetentionPolicyH
ordinals (2,.k8s.io.api.apps.v1beta2.StatefulSetOrdinalsRordinals"–
StatefulSetStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas$
readyReplicas (RreadyReplicas(
currentReplicas (RcurrentReplicas(
updatedReplicas (RupdatedReplicas(
currentRevision (	RcurrentRevision&
updateRevision (	RupdateRevision&
collisionCount	 (RcollisionCountM

conditions
 (2-.k8s.io.api.apps.v1beta2.StatefulSetConditionR
conditions,
availableReplicas (RavailableReplicas"ê
StatefulSetUpdateStrategy
type (	Rtype_
rollingUpdate (29.k8s.io.api.apps.v1beta2.RollingUpdateStatefulSetStrategyRrollingUpdateBZk8s.io/api/apps/v1beta2
„
2k8s.io/api/authentication/v1alpha1/generated.proto"k8s.io.api.authentication.v1alpha1,k8s.io/api/authentication/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"∂
SelfSubjectReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataS
status (2;.k8s.io.api.authentication.v1alpha1.SelfSubjectReviewStatusRstatus"]
SelfSubjectReviewStatusB
userInfo (2&.k8s.io.api.authentication.v1.UserInfoRuserInfoB$Z"k8s.io/api/authentication/v1alpha1
˘

1k8s.io/api/authentication/v1beta1/generated.proto!k8s.io.api.authentication.v1beta1,k8s.io/api/authentication/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto""

ExtraValue
items (	Ritems"µ
SelfSubjectReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
status (2:.k8s.io.api.authentication.v1beta1.SelfSubjectReviewStatusRstatus"]
SelfSubjectReviewStatusB
userInfo (2&.k8s.io.api.authentication.v1.UserInfoRuserInfo"Ò
TokenReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataF
spec (22.k8s.io.api.authentication.v1beta1.TokenReviewSpecRspecL
status (24.k8s.io.api.authentication.v1beta1.TokenReviewStatusRstatus"E
TokenReviewSpec
token (	Rtoken
	audiences (	R	audiences"Æ
TokenReviewStatus$
authenticated (Rauthenticated?
user (2+.k8s.io.api.authentication.v1beta1.UserInfoRuser
	audiences (	R	audiences
error (	Rerror"á
UserInfo
username (	Rusername
uid (	Ruid
groups (	RgroupsL
extra (26.k8s.io.api.authentication.v1beta1.UserInfo.ExtraEntryRextrag

ExtraEntry
key (	RkeyC
value (2-.k8s.io.api.authentication.v1beta1.ExtraValueRvalue:8B#Z!k8s.io/api/authentication/v1beta1
Ã
+k8s.io/api/authorization/v1/generated.protok8s.io.api.authorization.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto""

ExtraValue
items (	Ritems"ü
FieldSelectorAttributes 
rawSelector (	RrawSelectorb
requirements (2>.k8s.io.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirementRrequirements"ü
LabelSelectorAttributes 
rawSelector (	RrawSelectorb
requirements (2>.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirementRrequirements"Ç
LocalSubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataH
spec (24.k8s.io.api.authorization.v1.SubjectAccessReviewSpecRspecN
status (26.k8s.io.api.authorization.v1.SubjectAccessReviewStatusRstatus"?
NonResourceAttributes
path (	Rpath
verb (	Rverb"Q
NonResourceRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"Ä
ResourceAttributes
	namespace (	R	namespace
verb (	Rverb
group (	Rgroup
version (	Rversion
resource (	Rresource 
subresource (	Rsubresource
name (	RnameZ
fieldSelector (24.k8s.io.api.authorization.v1.FieldSelectorAttributesRfieldSelectorZ
labelSelector	 (24.k8s.io.api.authorization.v1.LabelSelectorAttributesRlabelSelector"Ü
ResourceRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources$
resourceNames (	RresourceNames"Ö
SelfSubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataL
spec (28.k8s.io.api.authorization.v1.SelfSubjectAccessReviewSpecRspecN
status (26.k8s.io.api.authorization.v1.SubjectAccessReviewStatusRstatus"Ë
SelfSubjectAccessReviewSpec_
resourceAttributes (2/.k8s.io.api.authorization.v1.ResourceAttributesRresourceAttributesh
nonResourceAttributes (22.k8s.io.api.authorization.v1.NonResourceAttributesRnonResourceAttributes"Ç
SelfSubjectRulesReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataK
spec (27.k8s.io.api.authorization.v1.SelfSubjectRulesReviewSpecRspecM
status (25.k8s.io.api.authorization.v1.SubjectRulesReviewStatusRstatus":
SelfSubjectRulesReviewSpec
	namespace (	R	namespace"˝
SubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataH
spec (24.k8s.io.api.authorization.v1.SubjectAccessReviewSpecRspecN
status (26.k8s.io.api.authorization.v1.SubjectAccessReviewStatusRstatus"‹
SubjectAccessReviewSpec_
resourceAttributes (2/.k8s.io.api.authorization.v1.ResourceAttributesRresourceAttributesh
nonResourceAttributes (22.k8s.io.api.authorization.v1.NonResourceAttributesRnonResourceAttributes
user (	Ruser
groups (	RgroupsU
extra (2?.k8s.io.api.authorization.v1.SubjectAccessReviewSpec.ExtraEntryRextra
uid (	Ruida

ExtraEntry
key (	Rkey=
value (2'.k8s.io.api.authorization.v1.ExtraValueRvalue:8"è
SubjectAccessReviewStatus
allowed (Rallowed
denied (Rdenied
reason (	Rreason(
evaluationError (	RevaluationError"è
SubjectRulesReviewStatusO
resourceRules (2).k8s.io.api.authorization.v1.ResourceRuleRresourceRulesX
nonResourceRules (2,.k8s.io.api.authorization.v1.NonResourceRuleRnonResourceRules

incomplete (R
incomplete(
evaluationError (	RevaluationErrorBZk8s.io/api/authorization/v1
í
0k8s.io/api/authorization/v1beta1/generated.proto k8s.io.api.authorization.v1beta1+k8s.io/api/authorization/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto""

ExtraValue
items (	Ritems"å
LocalSubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
spec (29.k8s.io.api.authorization.v1beta1.SubjectAccessReviewSpecRspecS
status (2;.k8s.io.api.authorization.v1beta1.SubjectAccessReviewStatusRstatus"?
NonResourceAttributes
path (	Rpath
verb (	Rverb"Q
NonResourceRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"Ä
ResourceAttributes
	namespace (	R	namespace
verb (	Rverb
group (	Rgroup
version (	Rversion
resource (	Rresource 
subresource (	Rsubresource
name (	RnameZ
fieldSelector (24.k8s.io.api.authorization.v1.FieldSelectorAttributesRfieldSelectorZ
labelSelector	 (24.k8s.io.api.authorization.v1.LabelSelectorAttributesRlabelSelector"Ü
ResourceRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources$
resourceNames (	RresourceNames"è
SelfSubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataQ
spec (2=.k8s.io.api.authorization.v1beta1.SelfSubjectAccessReviewSpecRspecS
status (2;.k8s.io.api.authorization.v1beta1.SubjectAccessReviewStatusRstatus"Ú
SelfSubjectAccessReviewSpecd
resourceAttributes (24.k8s.io.api.authorization.v1beta1.ResourceAttributesRresourceAttributesm
nonResourceAttributes (27.k8s.io.api.authorization.v1beta1.NonResourceAttributesRnonResourceAttributes"å
SelfSubjectRulesReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataP
spec (2<.k8s.io.api.authorization.v1beta1.SelfSubjectRulesReviewSpecRspecR
status (2:.k8s.io.api.authorization.v1beta1.SubjectRulesReviewStatusRstatus":
SelfSubjectRulesReviewSpec
	namespace (	R	namespace"á
SubjectAccessReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
spec (29.k8s.io.api.authorization.v1beta1.SubjectAccessReviewSpecRspecS
status (2;.k8s.io.api.authorization.v1beta1.SubjectAccessReviewStatusRstatus"Ó
SubjectAccessReviewSpecd
resourceAttributes (24.k8s.io.api.authorization.v1beta1.ResourceAttributesRresourceAttributesm
nonResourceAttributes (27.k8s.io.api.authorization.v1beta1.NonResourceAttributesRnonResourceAttributes
user (	Ruser
group (	RgroupZ
extra (2D.k8s.io.api.authorization.v1beta1.SubjectAccessReviewSpec.ExtraEntryRextra
uid (	Ruidf

ExtraEntry
key (	RkeyB
value (2,.k8s.io.api.authorization.v1beta1.ExtraValueRvalue:8"è
SubjectAccessReviewStatus
allowed (Rallowed
denied (Rdenied
reason (	Rreason(
evaluationError (	RevaluationError"ô
SubjectRulesReviewStatusT
resourceRules (2..k8s.io.api.authorization.v1beta1.ResourceRuleRresourceRules]
nonResourceRules (21.k8s.io.api.authorization.v1beta1.NonResourceRuleRnonResourceRules

incomplete (R
incomplete(
evaluationError (	RevaluationErrorB"Z k8s.io/api/authorization/v1beta1
¶,
)k8s.io/api/autoscaling/v1/generated.protok8s.io.api.autoscaling.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Ì
ContainerResourceMetricSource
name (	Rname:
targetAverageUtilization (RtargetAverageUtilization^
targetAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetAverageValue
	container (	R	container"Ò
ContainerResourceMetricStatus
name (	Rname<
currentAverageUtilization (RcurrentAverageUtilization`
currentAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentAverageValue
	container (	R	container"e
CrossVersionObjectReference
kind (	Rkind
name (	Rname

apiVersion (	R
apiVersion"≈
ExternalMetricSource

metricName (	R
metricName[
metricSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRmetricSelectorP
targetValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetValue^
targetAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetAverageValue"…
ExternalMetricStatus

metricName (	R
metricName[
metricSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRmetricSelectorR
currentValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentValue`
currentAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentAverageValue"Ö
HorizontalPodAutoscalerL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataJ
spec (26.k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerSpecRspecP
status (28.k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerStatusRstatus"‹
 HorizontalPodAutoscalerCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"≥
HorizontalPodAutoscalerListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.autoscaling.v1.HorizontalPodAutoscalerRitems"â
HorizontalPodAutoscalerSpec^
scaleTargetRef (26.k8s.io.api.autoscaling.v1.CrossVersionObjectReferenceRscaleTargetRef 
minReplicas (RminReplicas 
maxReplicas (RmaxReplicasF
targetCPUUtilizationPercentage (RtargetCPUUtilizationPercentage"ø
HorizontalPodAutoscalerStatus.
observedGeneration (RobservedGenerationP
lastScaleTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastScaleTime(
currentReplicas (RcurrentReplicas(
desiredReplicas (RdesiredReplicasH
currentCPUUtilizationPercentage (RcurrentCPUUtilizationPercentage"™

MetricSpec
type (	RtypeE
object (2-.k8s.io.api.autoscaling.v1.ObjectMetricSourceRobject?
pods (2+.k8s.io.api.autoscaling.v1.PodsMetricSourceRpodsK
resource (2/.k8s.io.api.autoscaling.v1.ResourceMetricSourceRresourcef
containerResource (28.k8s.io.api.autoscaling.v1.ContainerResourceMetricSourceRcontainerResourceK
external (2/.k8s.io.api.autoscaling.v1.ExternalMetricSourceRexternal"¨
MetricStatus
type (	RtypeE
object (2-.k8s.io.api.autoscaling.v1.ObjectMetricStatusRobject?
pods (2+.k8s.io.api.autoscaling.v1.PodsMetricStatusRpodsK
resource (2/.k8s.io.api.autoscaling.v1.ResourceMetricStatusRresourcef
containerResource (28.k8s.io.api.autoscaling.v1.ContainerResourceMetricStatusRcontainerResourceK
external (2/.k8s.io.api.autoscaling.v1.ExternalMetricStatusRexternal"˚
ObjectMetricSourceN
target (26.k8s.io.api.autoscaling.v1.CrossVersionObjectReferenceRtarget

metricName (	R
metricNameP
targetValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetValueO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselectorR
averageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRaverageValue"˝
ObjectMetricStatusN
target (26.k8s.io.api.autoscaling.v1.CrossVersionObjectReferenceRtarget

metricName (	R
metricNameR
currentValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentValueO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselectorR
averageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRaverageValue"„
PodsMetricSource

metricName (	R
metricName^
targetAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetAverageValueO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector"Â
PodsMetricStatus

metricName (	R
metricName`
currentAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentAverageValueO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector"∆
ResourceMetricSource
name (	Rname:
targetAverageUtilization (RtargetAverageUtilization^
targetAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRtargetAverageValue" 
ResourceMetricStatus
name (	Rname<
currentAverageUtilization (RcurrentAverageUtilization`
currentAverageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcurrentAverageValue"œ
ScaleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata8
spec (2$.k8s.io.api.autoscaling.v1.ScaleSpecRspec>
status (2&.k8s.io.api.autoscaling.v1.ScaleStatusRstatus"'
	ScaleSpec
replicas (Rreplicas"E
ScaleStatus
replicas (Rreplicas
selector (	RselectorBZk8s.io/api/autoscaling/v1
«+
)k8s.io/api/autoscaling/v2/generated.protok8s.io.api.autoscaling.v2"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"í
ContainerResourceMetricSource
name (	Rname?
target (2'.k8s.io.api.autoscaling.v2.MetricTargetRtarget
	container (	R	container"ô
ContainerResourceMetricStatus
name (	RnameF
current (2,.k8s.io.api.autoscaling.v2.MetricValueStatusRcurrent
	container (	R	container"e
CrossVersionObjectReference
kind (	Rkind
name (	Rname

apiVersion (	R
apiVersion"ú
ExternalMetricSourceC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetric?
target (2'.k8s.io.api.autoscaling.v2.MetricTargetRtarget"£
ExternalMetricStatusC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetricF
current (2,.k8s.io.api.autoscaling.v2.MetricValueStatusRcurrent"b
HPAScalingPolicy
type (	Rtype
value (Rvalue$
periodSeconds (RperiodSeconds"å
HPAScalingRules>
stabilizationWindowSeconds (RstabilizationWindowSeconds"
selectPolicy (	RselectPolicyG
policies (2+.k8s.io.api.autoscaling.v2.HPAScalingPolicyRpoliciesL
	tolerance (2..k8s.io.apimachinery.pkg.api.resource.QuantityR	tolerance"Ö
HorizontalPodAutoscalerL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataJ
spec (26.k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerSpecRspecP
status (28.k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerStatusRstatus"±
HorizontalPodAutoscalerBehaviorD
scaleUp (2*.k8s.io.api.autoscaling.v2.HPAScalingRulesRscaleUpH
	scaleDown (2*.k8s.io.api.autoscaling.v2.HPAScalingRulesR	scaleDown"‹
 HorizontalPodAutoscalerCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"≥
HorizontalPodAutoscalerListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerRitems"⁄
HorizontalPodAutoscalerSpec^
scaleTargetRef (26.k8s.io.api.autoscaling.v2.CrossVersionObjectReferenceRscaleTargetRef 
minReplicas (RminReplicas 
maxReplicas (RmaxReplicas?
metrics (2%.k8s.io.api.autoscaling.v2.MetricSpecRmetricsV
behavior (2:.k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerBehaviorRbehavior"£
HorizontalPodAutoscalerStatus.
observedGeneration (RobservedGenerationP
lastScaleTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastScaleTime(
currentReplicas (RcurrentReplicas(
desiredReplicas (RdesiredReplicasO
currentMetrics (2'.k8s.io.api.autoscaling.v2.MetricStatusRcurrentMetrics[

conditions (2;.k8s.io.api.autoscaling.v2.HorizontalPodAutoscalerConditionR
conditions"w
MetricIdentifier
name (	RnameO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector"™

MetricSpec
type (	RtypeE
object (2-.k8s.io.api.autoscaling.v2.ObjectMetricSourceRobject?
pods (2+.k8s.io.api.autoscaling.v2.PodsMetricSourceRpodsK
resource (2/.k8s.io.api.autoscaling.v2.ResourceMetricSourceRresourcef
containerResource (28.k8s.io.api.autoscaling.v2.ContainerResourceMetricSourceRcontainerResourceK
external (2/.k8s.io.api.autoscaling.v2.ExternalMetricSourceRexternal"¨
MetricStatus
type (	RtypeE
object (2-.k8s.io.api.autoscaling.v2.ObjectMetricStatusRobject?
pods (2+.k8s.io.api.autoscaling.v2.PodsMetricStatusRpodsK
resource (2/.k8s.io.api.autoscaling.v2.ResourceMetricStatusRresourcef
containerResource (28.k8s.io.api.autoscaling.v2.ContainerResourceMetricStatusRcontainerResourceK
external (2/.k8s.io.api.autoscaling.v2.ExternalMetricStatusRexternal"Ï
MetricTarget
type (	RtypeD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalueR
averageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRaverageValue.
averageUtilization (RaverageUtilization"›
MetricValueStatusD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalueR
averageValue (2..k8s.io.apimachinery.pkg.api.resource.QuantityRaverageValue.
averageUtilization (RaverageUtilization"¸
ObjectMetricSource`
describedObject (26.k8s.io.api.autoscaling.v2.CrossVersionObjectReferenceRdescribedObject?
target (2'.k8s.io.api.autoscaling.v2.MetricTargetRtargetC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetric"É
ObjectMetricStatusC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetricF
current (2,.k8s.io.api.autoscaling.v2.MetricValueStatusRcurrent`
describedObject (26.k8s.io.api.autoscaling.v2.CrossVersionObjectReferenceRdescribedObject"ò
PodsMetricSourceC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetric?
target (2'.k8s.io.api.autoscaling.v2.MetricTargetRtarget"ü
PodsMetricStatusC
metric (2+.k8s.io.api.autoscaling.v2.MetricIdentifierRmetricF
current (2,.k8s.io.api.autoscaling.v2.MetricValueStatusRcurrent"k
ResourceMetricSource
name (	Rname?
target (2'.k8s.io.api.autoscaling.v2.MetricTargetRtarget"r
ResourceMetricStatus
name (	RnameF
current (2,.k8s.io.api.autoscaling.v2.MetricValueStatusRcurrentBZk8s.io/api/autoscaling/v2
Ñ!
#k8s.io/api/batch/v1/generated.protok8s.io.api.batch.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"…
CronJobL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata4
spec (2 .k8s.io.api.batch.v1.CronJobSpecRspec:
status (2".k8s.io.api.batch.v1.CronJobStatusRstatus"ç
CronJobListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata2
items (2.k8s.io.api.batch.v1.CronJobRitems"á
CronJobSpec
schedule (	Rschedule
timeZone (	RtimeZone8
startingDeadlineSeconds (RstartingDeadlineSeconds,
concurrencyPolicy (	RconcurrencyPolicy
suspend (RsuspendF
jobTemplate (2$.k8s.io.api.batch.v1.JobTemplateSpecRjobTemplate>
successfulJobsHistoryLimit (RsuccessfulJobsHistoryLimit6
failedJobsHistoryLimit (RfailedJobsHistoryLimit"Ä
CronJobStatus;
active (2#.k8s.io.api.core.v1.ObjectReferenceRactiveV
lastScheduleTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastScheduleTimeZ
lastSuccessfulTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastSuccessfulTime"Ω
JobL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata0
spec (2.k8s.io.api.batch.v1.JobSpecRspec6
status (2.k8s.io.api.batch.v1.JobStatusRstatus"ö
JobCondition
type (	Rtype
status (	RstatusP
lastProbeTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastProbeTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"Ö
JobListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata.
items (2.k8s.io.api.batch.v1.JobRitems"¨
JobSpec 
parallelism (Rparallelism 
completions (Rcompletions4
activeDeadlineSeconds (RactiveDeadlineSecondsQ
podFailurePolicy (2%.k8s.io.api.batch.v1.PodFailurePolicyRpodFailurePolicyH
successPolicy (2".k8s.io.api.batch.v1.SuccessPolicyRsuccessPolicy"
backoffLimit (RbackoffLimit2
backoffLimitPerIndex (RbackoffLimitPerIndex*
maxFailedIndexes (RmaxFailedIndexesO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector&
manualSelector (RmanualSelector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate8
ttlSecondsAfterFinished (RttlSecondsAfterFinished&
completionMode	 (	RcompletionMode
suspend
 (Rsuspend2
podReplacementPolicy (	RpodReplacementPolicy
	managedBy (	R	managedBy"¨
	JobStatusA

conditions (2!.k8s.io.api.batch.v1.JobConditionR
conditionsH
	startTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	startTimeR
completionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRcompletionTime
active (Ractive
	succeeded (R	succeeded
failed (Rfailed 
terminating (Rterminating*
completedIndexes (	RcompletedIndexes$
failedIndexes
 (	RfailedIndexesf
uncountedTerminatedPods (2,.k8s.io.api.batch.v1.UncountedTerminatedPodsRuncountedTerminatedPods
ready	 (Rready"ë
JobTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata0
spec (2.k8s.io.api.batch.v1.JobSpecRspec"S
PodFailurePolicy?
rules (2).k8s.io.api.batch.v1.PodFailurePolicyRuleRrules"Ç
&PodFailurePolicyOnExitCodesRequirement$
containerName (	RcontainerName
operator (	Roperator
values (Rvalues"T
&PodFailurePolicyOnPodConditionsPattern
type (	Rtype
status (	Rstatus"Ù
PodFailurePolicyRule
action (	Raction]
onExitCodes (2;.k8s.io.api.batch.v1.PodFailurePolicyOnExitCodesRequirementRonExitCodese
onPodConditions (2;.k8s.io.api.batch.v1.PodFailurePolicyOnPodConditionsPatternRonPodConditions"M
SuccessPolicy<
rules (2&.k8s.io.api.batch.v1.SuccessPolicyRuleRrules"g
SuccessPolicyRule*
succeededIndexes (	RsucceededIndexes&
succeededCount (RsucceededCount"O
UncountedTerminatedPods
	succeeded (	R	succeeded
failed (	RfailedBZk8s.io/api/batch/v1
Ÿ
(k8s.io/api/batch/v1beta1/generated.protok8s.io.api.batch.v1beta1#k8s.io/api/batch/v1/generated.proto"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"”
CronJobL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
spec (2%.k8s.io.api.batch.v1beta1.CronJobSpecRspec?
status (2'.k8s.io.api.batch.v1beta1.CronJobStatusRstatus"í
CronJobListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata7
items (2!.k8s.io.api.batch.v1beta1.CronJobRitems"å
CronJobSpec
schedule (	Rschedule
timeZone (	RtimeZone8
startingDeadlineSeconds (RstartingDeadlineSeconds,
concurrencyPolicy (	RconcurrencyPolicy
suspend (RsuspendK
jobTemplate (2).k8s.io.api.batch.v1beta1.JobTemplateSpecRjobTemplate>
successfulJobsHistoryLimit (RsuccessfulJobsHistoryLimit6
failedJobsHistoryLimit (RfailedJobsHistoryLimit"Ä
CronJobStatus;
active (2#.k8s.io.api.core.v1.ObjectReferenceRactiveV
lastScheduleTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastScheduleTimeZ
lastSuccessfulTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastSuccessfulTime"ë
JobTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata0
spec (2.k8s.io.api.batch.v1.JobSpecRspecBZk8s.io/api/batch/v1beta1
ô
*k8s.io/api/certificates/v1/generated.protok8s.io.api.certificates.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ç
CertificateSigningRequestL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
spec (29.k8s.io.api.certificates.v1.CertificateSigningRequestSpecRspecS
status (2;.k8s.io.api.certificates.v1.CertificateSigningRequestStatusRstatus"≤
"CertificateSigningRequestCondition
type (	Rtype
status (	Rstatus
reason (	Rreason
message (	RmessageR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime"∏
CertificateSigningRequestListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataK
items (25.k8s.io.api.certificates.v1.CertificateSigningRequestRitems"£
CertificateSigningRequestSpec
request (Rrequest

signerName (	R
signerName,
expirationSeconds (RexpirationSeconds
usages (	Rusages
username (	Rusername
uid (	Ruid
groups (	RgroupsZ
extra (2D.k8s.io.api.certificates.v1.CertificateSigningRequestSpec.ExtraEntryRextra`

ExtraEntry
key (	Rkey<
value (2&.k8s.io.api.certificates.v1.ExtraValueRvalue:8"£
CertificateSigningRequestStatus^

conditions (2>.k8s.io.api.certificates.v1.CertificateSigningRequestConditionR
conditions 
certificate (Rcertificate""

ExtraValue
items (	RitemsBZk8s.io/api/certificates/v1
Ÿ
0k8s.io/api/certificates/v1alpha1/generated.proto k8s.io.api.certificates.v1alpha14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"∞
ClusterTrustBundleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataL
spec (28.k8s.io.api.certificates.v1alpha1.ClusterTrustBundleSpecRspec"∞
ClusterTrustBundleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataJ
items (24.k8s.io.api.certificates.v1alpha1.ClusterTrustBundleRitems"Z
ClusterTrustBundleSpec

signerName (	R
signerName 
trustBundle (	RtrustBundleB"Z k8s.io/api/certificates/v1alpha1
Ò
/k8s.io/api/certificates/v1beta1/generated.protok8s.io.api.certificates.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ó
CertificateSigningRequestL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
spec (2>.k8s.io.api.certificates.v1beta1.CertificateSigningRequestSpecRspecX
status (2@.k8s.io.api.certificates.v1beta1.CertificateSigningRequestStatusRstatus"≤
"CertificateSigningRequestCondition
type (	Rtype
status (	Rstatus
reason (	Rreason
message (	RmessageR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime"Ω
CertificateSigningRequestListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataP
items (2:.k8s.io.api.certificates.v1beta1.CertificateSigningRequestRitems"≠
CertificateSigningRequestSpec
request (Rrequest

signerName (	R
signerName,
expirationSeconds (RexpirationSeconds
usages (	Rusages
username (	Rusername
uid (	Ruid
groups (	Rgroups_
extra (2I.k8s.io.api.certificates.v1beta1.CertificateSigningRequestSpec.ExtraEntryRextrae

ExtraEntry
key (	RkeyA
value (2+.k8s.io.api.certificates.v1beta1.ExtraValueRvalue:8"®
CertificateSigningRequestStatusc

conditions (2C.k8s.io.api.certificates.v1beta1.CertificateSigningRequestConditionR
conditions 
certificate (Rcertificate"Ø
ClusterTrustBundleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataK
spec (27.k8s.io.api.certificates.v1beta1.ClusterTrustBundleSpecRspec"Ø
ClusterTrustBundleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataI
items (23.k8s.io.api.certificates.v1beta1.ClusterTrustBundleRitems"Z
ClusterTrustBundleSpec

signerName (	R
signerName 
trustBundle (	RtrustBundle""

ExtraValue
items (	Ritems"ã
PodCertificateRequestL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataN
spec (2:.k8s.io.api.certificates.v1beta1.PodCertificateRequestSpecRspecT
status (2<.k8s.io.api.certificates.v1beta1.PodCertificateRequestStatusRstatus"µ
PodCertificateRequestListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataL
items (26.k8s.io.api.certificates.v1beta1.PodCertificateRequestRitems"ü
PodCertificateRequestSpec

signerName (	R
signerName
podName (	RpodName
podUID (	RpodUID.
serviceAccountName (	RserviceAccountName,
serviceAccountUID (	RserviceAccountUID
nodeName (	RnodeName
nodeUID (	RnodeUID2
maxExpirationSeconds (RmaxExpirationSeconds$
pkixPublicKey	 (RpkixPublicKey,
proofOfPossession
 (RproofOfPossession,
stubPKCS10Request (RstubPKCS10Requestó
unverifiedUserAnnotations (2Y.k8s.io.api.certificates.v1beta1.PodCertificateRequestSpec.UnverifiedUserAnnotationsEntryRunverifiedUserAnnotationsL
UnverifiedUserAnnotationsEntry
key (	Rkey
value (	Rvalue:8"Ä
PodCertificateRequestStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions*
certificateChain (	RcertificateChainH
	notBefore (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	notBeforeR
beginRefreshAt (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRbeginRefreshAtF
notAfter (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRnotAfterB!Zk8s.io/api/certificates/v1beta1
©
*k8s.io/api/coordination/v1/generated.protok8s.io.api.coordination.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ê
LeaseL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
spec (2%.k8s.io.api.coordination.v1.LeaseSpecRspec"ê
	LeaseListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata7
items (2!.k8s.io.api.coordination.v1.LeaseRitems"˚
	LeaseSpec&
holderIdentity (	RholderIdentity2
leaseDurationSeconds (RleaseDurationSecondsQ
acquireTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRacquireTimeM
	renewTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	renewTime*
leaseTransitions (RleaseTransitions
strategy (	Rstrategy(
preferredHolder (	RpreferredHolderBZk8s.io/api/coordination/v1
ÿ
0k8s.io/api/coordination/v1alpha2/generated.proto k8s.io.api.coordination.v1alpha2*k8s.io/api/coordination/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"®
LeaseCandidateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataH
spec (24.k8s.io.api.coordination.v1alpha2.LeaseCandidateSpecRspec"®
LeaseCandidateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataF
items (20.k8s.io.api.coordination.v1alpha2.LeaseCandidateRitems"º
LeaseCandidateSpec
	leaseName (	R	leaseNameK
pingTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRpingTimeM
	renewTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	renewTime$
binaryVersion (	RbinaryVersion*
emulationVersion (	RemulationVersion
strategy (	RstrategyB"Z k8s.io/api/coordination/v1alpha2
Å
/k8s.io/api/coordination/v1beta1/generated.protok8s.io.api.coordination.v1beta1*k8s.io/api/coordination/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ï
LeaseL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata>
spec (2*.k8s.io.api.coordination.v1beta1.LeaseSpecRspec"ß
LeaseCandidateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataG
spec (23.k8s.io.api.coordination.v1beta1.LeaseCandidateSpecRspec"ß
LeaseCandidateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataE
items (2/.k8s.io.api.coordination.v1beta1.LeaseCandidateRitems"º
LeaseCandidateSpec
	leaseName (	R	leaseNameK
pingTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRpingTimeM
	renewTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	renewTime$
binaryVersion (	RbinaryVersion*
emulationVersion (	RemulationVersion
strategy (	Rstrategy"ï
	LeaseListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.coordination.v1beta1.LeaseRitems"˚
	LeaseSpec&
holderIdentity (	RholderIdentity2
leaseDurationSeconds (RleaseDurationSecondsQ
acquireTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRacquireTimeM
	renewTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	renewTime*
leaseTransitions (RleaseTransitions
strategy (	Rstrategy(
preferredHolder (	RpreferredHolderB!Zk8s.io/api/coordination/v1beta1
·
'k8s.io/api/discovery/v1/generated.protok8s.io.api.discovery.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Ù
Endpoint
	addresses (	R	addressesK

conditions (2+.k8s.io.api.discovery.v1.EndpointConditionsR
conditions
hostname (	RhostnameA
	targetRef (2#.k8s.io.api.core.v1.ObjectReferenceR	targetRefi
deprecatedTopology (29.k8s.io.api.discovery.v1.Endpoint.DeprecatedTopologyEntryRdeprecatedTopology
nodeName (	RnodeName
zone (	Rzone<
hints (2&.k8s.io.api.discovery.v1.EndpointHintsRhintsE
DeprecatedTopologyEntry
key (	Rkey
value (	Rvalue:8"f
EndpointConditions
ready (Rready
serving (Rserving 
terminating (Rterminating"ã
EndpointHints<
forZones (2 .k8s.io.api.discovery.v1.ForZoneRforZones<
forNodes (2 .k8s.io.api.discovery.v1.ForNodeRforNodes"t
EndpointPort
name (	Rname
protocol (	Rprotocol
port (Rport 
appProtocol (	RappProtocol"˝
EndpointSliceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata 
addressType (	RaddressType?
	endpoints (2!.k8s.io.api.discovery.v1.EndpointR	endpoints;
ports (2%.k8s.io.api.discovery.v1.EndpointPortRports"ù
EndpointSliceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.discovery.v1.EndpointSliceRitems"
ForNode
name (	Rname"
ForZone
name (	RnameBZk8s.io/api/discovery/v1
‹
,k8s.io/api/discovery/v1beta1/generated.protok8s.io.api.discovery.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"«
Endpoint
	addresses (	R	addressesP

conditions (20.k8s.io.api.discovery.v1beta1.EndpointConditionsR
conditions
hostname (	RhostnameA
	targetRef (2#.k8s.io.api.core.v1.ObjectReferenceR	targetRefP
topology (24.k8s.io.api.discovery.v1beta1.Endpoint.TopologyEntryRtopology
nodeName (	RnodeNameA
hints (2+.k8s.io.api.discovery.v1beta1.EndpointHintsRhints;
TopologyEntry
key (	Rkey
value (	Rvalue:8"f
EndpointConditions
ready (Rready
serving (Rserving 
terminating (Rterminating"ï
EndpointHintsA
forZones (2%.k8s.io.api.discovery.v1beta1.ForZoneRforZonesA
forNodes (2%.k8s.io.api.discovery.v1beta1.ForNodeRforNodes"t
EndpointPort
name (	Rname
protocol (	Rprotocol
port (Rport 
appProtocol (	RappProtocol"á
EndpointSliceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata 
addressType (	RaddressTypeD
	endpoints (2&.k8s.io.api.discovery.v1beta1.EndpointR	endpoints@
ports (2*.k8s.io.api.discovery.v1beta1.EndpointPortRports"¢
EndpointSliceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataA
items (2+.k8s.io.api.discovery.v1beta1.EndpointSliceRitems"
ForNode
name (	Rname"
ForZone
name (	RnameBZk8s.io/api/discovery/v1beta1
à
$k8s.io/api/events/v1/generated.protok8s.io.api.events.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ﬁ
EventL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
	eventTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	eventTime9
series (2!.k8s.io.api.events.v1.EventSeriesRseries0
reportingController (	RreportingController,
reportingInstance (	RreportingInstance
action (	Raction
reason (	RreasonA
	regarding (2#.k8s.io.api.core.v1.ObjectReferenceR	regarding=
related	 (2#.k8s.io.api.core.v1.ObjectReferenceRrelated
note
 (	Rnote
type (	RtypeK
deprecatedSource (2.k8s.io.api.core.v1.EventSourceRdeprecatedSourcef
deprecatedFirstTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRdeprecatedFirstTimestampd
deprecatedLastTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRdeprecatedLastTimestamp(
deprecatedCount (RdeprecatedCount"ä
	EventListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata1
items (2.k8s.io.api.events.v1.EventRitems"Ä
EventSeries
count (Rcount[
lastObservedTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRlastObservedTimeBZk8s.io/api/events/v1
°
)k8s.io/api/events/v1beta1/generated.protok8s.io.api.events.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"„
EventL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
	eventTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeR	eventTime>
series (2&.k8s.io.api.events.v1beta1.EventSeriesRseries0
reportingController (	RreportingController,
reportingInstance (	RreportingInstance
action (	Raction
reason (	RreasonA
	regarding (2#.k8s.io.api.core.v1.ObjectReferenceR	regarding=
related	 (2#.k8s.io.api.core.v1.ObjectReferenceRrelated
note
 (	Rnote
type (	RtypeK
deprecatedSource (2.k8s.io.api.core.v1.EventSourceRdeprecatedSourcef
deprecatedFirstTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRdeprecatedFirstTimestampd
deprecatedLastTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRdeprecatedLastTimestamp(
deprecatedCount (RdeprecatedCount"è
	EventListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata6
items (2 .k8s.io.api.events.v1beta1.EventRitems"Ä
EventSeries
count (Rcount[
lastObservedTime (2/.k8s.io.apimachinery.pkg.apis.meta.v1.MicroTimeRlastObservedTimeBZk8s.io/api/events/v1beta1
ŸJ
-k8s.io/api/extensions/v1beta1/generated.protok8s.io.api.extensions.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"„
	DaemonSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.extensions.v1beta1.DaemonSetSpecRspecF
status (2..k8s.io.api.extensions.v1beta1.DaemonSetStatusRstatus"Œ
DaemonSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"õ
DaemonSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.extensions.v1beta1.DaemonSetRitems"è
DaemonSetSpecO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate^
updateStrategy (26.k8s.io.api.extensions.v1beta1.DaemonSetUpdateStrategyRupdateStrategy(
minReadySeconds (RminReadySeconds.
templateGeneration (RtemplateGeneration2
revisionHistoryLimit (RrevisionHistoryLimit"é
DaemonSetStatus6
currentNumberScheduled (RcurrentNumberScheduled.
numberMisscheduled (RnumberMisscheduled6
desiredNumberScheduled (RdesiredNumberScheduled 
numberReady (RnumberReady.
observedGeneration (RobservedGeneration6
updatedNumberScheduled (RupdatedNumberScheduled(
numberAvailable (RnumberAvailable,
numberUnavailable (RnumberUnavailable&
collisionCount	 (RcollisionCountQ

conditions
 (21.k8s.io.api.extensions.v1beta1.DaemonSetConditionR
conditions"ä
DaemonSetUpdateStrategy
type (	Rtype[
rollingUpdate (25.k8s.io.api.extensions.v1beta1.RollingUpdateDaemonSetRrollingUpdate"Ê

DeploymentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.extensions.v1beta1.DeploymentSpecRspecG
status (2/.k8s.io.api.extensions.v1beta1.DeploymentStatusRstatus"£
DeploymentCondition
type (	Rtype
status (	RstatusR
lastUpdateTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastUpdateTimeZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ù
DeploymentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.extensions.v1beta1.DeploymentRitems"π
DeploymentRollback
name (	Rnamey
updatedAnnotations (2I.k8s.io.api.extensions.v1beta1.DeploymentRollback.UpdatedAnnotationsEntryRupdatedAnnotationsM

rollbackTo (2-.k8s.io.api.extensions.v1beta1.RollbackConfigR
rollbackToE
UpdatedAnnotationsEntry
key (	Rkey
value (	Rvalue:8"å
DeploymentSpec
replicas (RreplicasO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplateM
strategy (21.k8s.io.api.extensions.v1beta1.DeploymentStrategyRstrategy(
minReadySeconds (RminReadySeconds2
revisionHistoryLimit (RrevisionHistoryLimit
paused (RpausedM

rollbackTo (2-.k8s.io.api.extensions.v1beta1.RollbackConfigR
rollbackTo8
progressDeadlineSeconds	 (RprogressDeadlineSeconds"º
DeploymentStatus.
observedGeneration (RobservedGeneration
replicas (Rreplicas(
updatedReplicas (RupdatedReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
unavailableReplicas (RunavailableReplicas0
terminatingReplicas	 (RterminatingReplicasR

conditions (22.k8s.io.api.extensions.v1beta1.DeploymentConditionR
conditions&
collisionCount (RcollisionCount"Ü
DeploymentStrategy
type (	Rtype\
rollingUpdate (26.k8s.io.api.extensions.v1beta1.RollingUpdateDeploymentRrollingUpdate"ä
HTTPIngressPath
path (	Rpath
pathType (	RpathTypeG
backend (2-.k8s.io.api.extensions.v1beta1.IngressBackendRbackend"\
HTTPIngressRuleValueD
paths (2..k8s.io.api.extensions.v1beta1.HTTPIngressPathRpaths"5
IPBlock
cidr (	Rcidr
except (	Rexcept"›
IngressL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata>
spec (2*.k8s.io.api.extensions.v1beta1.IngressSpecRspecD
status (2,.k8s.io.api.extensions.v1beta1.IngressStatusRstatus"—
IngressBackend 
serviceName (	RserviceNameR
servicePort (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRservicePortI
resource (2-.k8s.io.api.core.v1.TypedLocalObjectReferenceRresource"ó
IngressListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.extensions.v1beta1.IngressRitems"ê
IngressLoadBalancerIngress
ip (	Rip
hostname (	RhostnameF
ports (20.k8s.io.api.extensions.v1beta1.IngressPortStatusRports"p
IngressLoadBalancerStatusS
ingress (29.k8s.io.api.extensions.v1beta1.IngressLoadBalancerIngressRingress"Y
IngressPortStatus
port (Rport
protocol (	Rprotocol
error (	Rerror"~
IngressRule
host (	Rhost[
ingressRuleValue (2/.k8s.io.api.extensions.v1beta1.IngressRuleValueRingressRuleValue"[
IngressRuleValueG
http (23.k8s.io.api.extensions.v1beta1.HTTPIngressRuleValueRhttp"Å
IngressSpec*
ingressClassName (	RingressClassNameG
backend (2-.k8s.io.api.extensions.v1beta1.IngressBackendRbackend;
tls (2).k8s.io.api.extensions.v1beta1.IngressTLSRtls@
rules (2*.k8s.io.api.extensions.v1beta1.IngressRuleRrules"m
IngressStatus\
loadBalancer (28.k8s.io.api.extensions.v1beta1.IngressLoadBalancerStatusRloadBalancer"B

IngressTLS
hosts (	Rhosts

secretName (	R
secretName"£
NetworkPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataD
spec (20.k8s.io.api.extensions.v1beta1.NetworkPolicySpecRspec"£
NetworkPolicyEgressRuleF
ports (20.k8s.io.api.extensions.v1beta1.NetworkPolicyPortRports@
to (20.k8s.io.api.extensions.v1beta1.NetworkPolicyPeerRto"®
NetworkPolicyIngressRuleF
ports (20.k8s.io.api.extensions.v1beta1.NetworkPolicyPortRportsD
from (20.k8s.io.api.extensions.v1beta1.NetworkPolicyPeerRfrom"£
NetworkPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.extensions.v1beta1.NetworkPolicyRitems"è
NetworkPolicyPeerU
podSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRpodSelectora
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector@
ipBlock (2&.k8s.io.api.extensions.v1beta1.IPBlockRipBlock"è
NetworkPolicyPort
protocol (	RprotocolD
port (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRport
endPort (RendPort"Ø
NetworkPolicySpecU
podSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRpodSelectorQ
ingress (27.k8s.io.api.extensions.v1beta1.NetworkPolicyIngressRuleRingressN
egress (26.k8s.io.api.extensions.v1beta1.NetworkPolicyEgressRuleRegress 
policyTypes (	RpolicyTypes"Ê

ReplicaSetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.extensions.v1beta1.ReplicaSetSpecRspecG
status (2/.k8s.io.api.extensions.v1beta1.ReplicaSetStatusRstatus"œ
ReplicaSetCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ù
ReplicaSetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.extensions.v1beta1.ReplicaSetRitems"Ë
ReplicaSetSpec
replicas (Rreplicas(
minReadySeconds (RminReadySecondsO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselector?
template (2#.k8s.io.api.core.v1.PodTemplateSpecRtemplate"Ï
ReplicaSetStatus
replicas (Rreplicas2
fullyLabeledReplicas (RfullyLabeledReplicas$
readyReplicas (RreadyReplicas,
availableReplicas (RavailableReplicas0
terminatingReplicas (RterminatingReplicas.
observedGeneration (RobservedGenerationR

conditions (22.k8s.io.api.extensions.v1beta1.ReplicaSetConditionR
conditions",
RollbackConfig
revision (Rrevision"¿
RollingUpdateDaemonSetX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"¡
RollingUpdateDeploymentX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailableL
maxSurge (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxSurge"◊
ScaleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
spec (2(.k8s.io.api.extensions.v1beta1.ScaleSpecRspecB
status (2*.k8s.io.api.extensions.v1beta1.ScaleStatusRstatus"'
	ScaleSpec
replicas (Rreplicas"‰
ScaleStatus
replicas (RreplicasT
selector (28.k8s.io.api.extensions.v1beta1.ScaleStatus.SelectorEntryRselector&
targetSelector (	RtargetSelector;
SelectorEntry
key (	Rkey
value (	Rvalue:8BZk8s.io/api/extensions/v1beta1
À
)k8s.io/api/flowcontrol/v1/generated.protok8s.io.api.flowcontrol.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"à
 ExemptPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencyShares(
lendablePercent (RlendablePercent"-
FlowDistinguisherMethod
type (	Rtype"ﬁ

FlowSchemaL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.flowcontrol.v1.FlowSchemaSpecRspecC
status (2+.k8s.io.api.flowcontrol.v1.FlowSchemaStatusRstatus"œ
FlowSchemaCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"ô
FlowSchemaListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.flowcontrol.v1.FlowSchemaRitems"
FlowSchemaSpec~
priorityLevelConfiguration (2>.k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationReferenceRpriorityLevelConfiguration.
matchingPrecedence (RmatchingPrecedenced
distinguisherMethod (22.k8s.io.api.flowcontrol.v1.FlowDistinguisherMethodRdistinguisherMethodH
rules (22.k8s.io.api.flowcontrol.v1.PolicyRulesWithSubjectsRrules"b
FlowSchemaStatusN

conditions (2..k8s.io.api.flowcontrol.v1.FlowSchemaConditionR
conditions""
GroupSubject
name (	Rname"n
LimitResponse
type (	RtypeI
queuing (2/.k8s.io.api.flowcontrol.v1.QueuingConfigurationRqueuing"è
!LimitedPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencySharesN
limitResponse (2(.k8s.io.api.flowcontrol.v1.LimitResponseRlimitResponse(
lendablePercent (RlendablePercent4
borrowingLimitPercent (RborrowingLimitPercent"W
NonResourcePolicyRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"å
PolicyRulesWithSubjects>
subjects (2".k8s.io.api.flowcontrol.v1.SubjectRsubjectsS
resourceRules (2-.k8s.io.api.flowcontrol.v1.ResourcePolicyRuleRresourceRules\
nonResourceRules (20.k8s.io.api.flowcontrol.v1.NonResourcePolicyRuleRnonResourceRules"é
PriorityLevelConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataM
spec (29.k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationSpecRspecS
status (2;.k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationStatusRstatus"ﬂ
#PriorityLevelConfigurationCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"π
PriorityLevelConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataK
items (25.k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationRitems"9
#PriorityLevelConfigurationReference
name (	Rname"·
PriorityLevelConfigurationSpec
type (	RtypeV
limited (2<.k8s.io.api.flowcontrol.v1.LimitedPriorityLevelConfigurationRlimitedS
exempt (2;.k8s.io.api.flowcontrol.v1.ExemptPriorityLevelConfigurationRexempt"Ç
 PriorityLevelConfigurationStatus^

conditions (2>.k8s.io.api.flowcontrol.v1.PriorityLevelConfigurationConditionR
conditions"v
QueuingConfiguration
queues (Rqueues
handSize (RhandSize*
queueLengthLimit (RqueueLengthLimit"™
ResourcePolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources"
clusterScope (RclusterScope

namespaces (	R
namespaces"I
ServiceAccountSubject
	namespace (	R	namespace
name (	Rname"Ú
Subject
kind (	Rkind:
user (2&.k8s.io.api.flowcontrol.v1.UserSubjectRuser=
group (2'.k8s.io.api.flowcontrol.v1.GroupSubjectRgroupX
serviceAccount (20.k8s.io.api.flowcontrol.v1.ServiceAccountSubjectRserviceAccount"!
UserSubject
name (	RnameBZk8s.io/api/flowcontrol/v1
ƒ 
.k8s.io/api/flowcontrol/v1beta1/generated.protok8s.io.api.flowcontrol.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"à
 ExemptPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencyShares(
lendablePercent (RlendablePercent"-
FlowDistinguisherMethod
type (	Rtype"Ë

FlowSchemaL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.flowcontrol.v1beta1.FlowSchemaSpecRspecH
status (20.k8s.io.api.flowcontrol.v1beta1.FlowSchemaStatusRstatus"œ
FlowSchemaCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"û
FlowSchemaListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.flowcontrol.v1beta1.FlowSchemaRitems"Ä
FlowSchemaSpecÉ
priorityLevelConfiguration (2C.k8s.io.api.flowcontrol.v1beta1.PriorityLevelConfigurationReferenceRpriorityLevelConfiguration.
matchingPrecedence (RmatchingPrecedencei
distinguisherMethod (27.k8s.io.api.flowcontrol.v1beta1.FlowDistinguisherMethodRdistinguisherMethodM
rules (27.k8s.io.api.flowcontrol.v1beta1.PolicyRulesWithSubjectsRrules"g
FlowSchemaStatusS

conditions (23.k8s.io.api.flowcontrol.v1beta1.FlowSchemaConditionR
conditions""
GroupSubject
name (	Rname"s
LimitResponse
type (	RtypeN
queuing (24.k8s.io.api.flowcontrol.v1beta1.QueuingConfigurationRqueuing"î
!LimitedPriorityLevelConfiguration:
assuredConcurrencyShares (RassuredConcurrencySharesS
limitResponse (2-.k8s.io.api.flowcontrol.v1beta1.LimitResponseRlimitResponse(
lendablePercent (RlendablePercent4
borrowingLimitPercent (RborrowingLimitPercent"W
NonResourcePolicyRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"õ
PolicyRulesWithSubjectsC
subjects (2'.k8s.io.api.flowcontrol.v1beta1.SubjectRsubjectsX
resourceRules (22.k8s.io.api.flowcontrol.v1beta1.ResourcePolicyRuleRresourceRulesa
nonResourceRules (25.k8s.io.api.flowcontrol.v1beta1.NonResourcePolicyRuleRnonResourceRules"ò
PriorityLevelConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
spec (2>.k8s.io.api.flowcontrol.v1beta1.PriorityLevelConfigurationSpecRspecX
status (2@.k8s.io.api.flowcontrol.v1beta1.PriorityLevelConfigurationStatusRstatus"ﬂ
#PriorityLevelConfigurationCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"æ
PriorityLevelConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataP
items (2:.k8s.io.api.flowcontrol.v1beta1.PriorityLevelConfigurationRitems"9
#PriorityLevelConfigurationReference
name (	Rname"Î
PriorityLevelConfigurationSpec
type (	Rtype[
limited (2A.k8s.io.api.flowcontrol.v1beta1.LimitedPriorityLevelConfigurationRlimitedX
exempt (2@.k8s.io.api.flowcontrol.v1beta1.ExemptPriorityLevelConfigurationRexempt"á
 PriorityLevelConfigurationStatusc

conditions (2C.k8s.io.api.flowcontrol.v1beta1.PriorityLevelConfigurationConditionR
conditions"v
QueuingConfiguration
queues (Rqueues
handSize (RhandSize*
queueLengthLimit (RqueueLengthLimit"™
ResourcePolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources"
clusterScope (RclusterScope

namespaces (	R
namespaces"I
ServiceAccountSubject
	namespace (	R	namespace
name (	Rname"Å
Subject
kind (	Rkind?
user (2+.k8s.io.api.flowcontrol.v1beta1.UserSubjectRuserB
group (2,.k8s.io.api.flowcontrol.v1beta1.GroupSubjectRgroup]
serviceAccount (25.k8s.io.api.flowcontrol.v1beta1.ServiceAccountSubjectRserviceAccount"!
UserSubject
name (	RnameB Zk8s.io/api/flowcontrol/v1beta1
ƒ 
.k8s.io/api/flowcontrol/v1beta2/generated.protok8s.io.api.flowcontrol.v1beta24k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"à
 ExemptPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencyShares(
lendablePercent (RlendablePercent"-
FlowDistinguisherMethod
type (	Rtype"Ë

FlowSchemaL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.flowcontrol.v1beta2.FlowSchemaSpecRspecH
status (20.k8s.io.api.flowcontrol.v1beta2.FlowSchemaStatusRstatus"œ
FlowSchemaCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"û
FlowSchemaListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.flowcontrol.v1beta2.FlowSchemaRitems"Ä
FlowSchemaSpecÉ
priorityLevelConfiguration (2C.k8s.io.api.flowcontrol.v1beta2.PriorityLevelConfigurationReferenceRpriorityLevelConfiguration.
matchingPrecedence (RmatchingPrecedencei
distinguisherMethod (27.k8s.io.api.flowcontrol.v1beta2.FlowDistinguisherMethodRdistinguisherMethodM
rules (27.k8s.io.api.flowcontrol.v1beta2.PolicyRulesWithSubjectsRrules"g
FlowSchemaStatusS

conditions (23.k8s.io.api.flowcontrol.v1beta2.FlowSchemaConditionR
conditions""
GroupSubject
name (	Rname"s
LimitResponse
type (	RtypeN
queuing (24.k8s.io.api.flowcontrol.v1beta2.QueuingConfigurationRqueuing"î
!LimitedPriorityLevelConfiguration:
assuredConcurrencyShares (RassuredConcurrencySharesS
limitResponse (2-.k8s.io.api.flowcontrol.v1beta2.LimitResponseRlimitResponse(
lendablePercent (RlendablePercent4
borrowingLimitPercent (RborrowingLimitPercent"W
NonResourcePolicyRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"õ
PolicyRulesWithSubjectsC
subjects (2'.k8s.io.api.flowcontrol.v1beta2.SubjectRsubjectsX
resourceRules (22.k8s.io.api.flowcontrol.v1beta2.ResourcePolicyRuleRresourceRulesa
nonResourceRules (25.k8s.io.api.flowcontrol.v1beta2.NonResourcePolicyRuleRnonResourceRules"ò
PriorityLevelConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
spec (2>.k8s.io.api.flowcontrol.v1beta2.PriorityLevelConfigurationSpecRspecX
status (2@.k8s.io.api.flowcontrol.v1beta2.PriorityLevelConfigurationStatusRstatus"ﬂ
#PriorityLevelConfigurationCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"æ
PriorityLevelConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataP
items (2:.k8s.io.api.flowcontrol.v1beta2.PriorityLevelConfigurationRitems"9
#PriorityLevelConfigurationReference
name (	Rname"Î
PriorityLevelConfigurationSpec
type (	Rtype[
limited (2A.k8s.io.api.flowcontrol.v1beta2.LimitedPriorityLevelConfigurationRlimitedX
exempt (2@.k8s.io.api.flowcontrol.v1beta2.ExemptPriorityLevelConfigurationRexempt"á
 PriorityLevelConfigurationStatusc

conditions (2C.k8s.io.api.flowcontrol.v1beta2.PriorityLevelConfigurationConditionR
conditions"v
QueuingConfiguration
queues (Rqueues
handSize (RhandSize*
queueLengthLimit (RqueueLengthLimit"™
ResourcePolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources"
clusterScope (RclusterScope

namespaces (	R
namespaces"I
ServiceAccountSubject
	namespace (	R	namespace
name (	Rname"Å
Subject
kind (	Rkind?
user (2+.k8s.io.api.flowcontrol.v1beta2.UserSubjectRuserB
group (2,.k8s.io.api.flowcontrol.v1beta2.GroupSubjectRgroup]
serviceAccount (25.k8s.io.api.flowcontrol.v1beta2.ServiceAccountSubjectRserviceAccount"!
UserSubject
name (	RnameB Zk8s.io/api/flowcontrol/v1beta2
ƒ 
.k8s.io/api/flowcontrol/v1beta3/generated.protok8s.io.api.flowcontrol.v1beta34k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"à
 ExemptPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencyShares(
lendablePercent (RlendablePercent"-
FlowDistinguisherMethod
type (	Rtype"Ë

FlowSchemaL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.flowcontrol.v1beta3.FlowSchemaSpecRspecH
status (20.k8s.io.api.flowcontrol.v1beta3.FlowSchemaStatusRstatus"œ
FlowSchemaCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"û
FlowSchemaListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.flowcontrol.v1beta3.FlowSchemaRitems"Ä
FlowSchemaSpecÉ
priorityLevelConfiguration (2C.k8s.io.api.flowcontrol.v1beta3.PriorityLevelConfigurationReferenceRpriorityLevelConfiguration.
matchingPrecedence (RmatchingPrecedencei
distinguisherMethod (27.k8s.io.api.flowcontrol.v1beta3.FlowDistinguisherMethodRdistinguisherMethodM
rules (27.k8s.io.api.flowcontrol.v1beta3.PolicyRulesWithSubjectsRrules"g
FlowSchemaStatusS

conditions (23.k8s.io.api.flowcontrol.v1beta3.FlowSchemaConditionR
conditions""
GroupSubject
name (	Rname"s
LimitResponse
type (	RtypeN
queuing (24.k8s.io.api.flowcontrol.v1beta3.QueuingConfigurationRqueuing"î
!LimitedPriorityLevelConfiguration:
nominalConcurrencyShares (RnominalConcurrencySharesS
limitResponse (2-.k8s.io.api.flowcontrol.v1beta3.LimitResponseRlimitResponse(
lendablePercent (RlendablePercent4
borrowingLimitPercent (RborrowingLimitPercent"W
NonResourcePolicyRule
verbs (	Rverbs(
nonResourceURLs (	RnonResourceURLs"õ
PolicyRulesWithSubjectsC
subjects (2'.k8s.io.api.flowcontrol.v1beta3.SubjectRsubjectsX
resourceRules (22.k8s.io.api.flowcontrol.v1beta3.ResourcePolicyRuleRresourceRulesa
nonResourceRules (25.k8s.io.api.flowcontrol.v1beta3.NonResourcePolicyRuleRnonResourceRules"ò
PriorityLevelConfigurationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataR
spec (2>.k8s.io.api.flowcontrol.v1beta3.PriorityLevelConfigurationSpecRspecX
status (2@.k8s.io.api.flowcontrol.v1beta3.PriorityLevelConfigurationStatusRstatus"ﬂ
#PriorityLevelConfigurationCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"æ
PriorityLevelConfigurationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataP
items (2:.k8s.io.api.flowcontrol.v1beta3.PriorityLevelConfigurationRitems"9
#PriorityLevelConfigurationReference
name (	Rname"Î
PriorityLevelConfigurationSpec
type (	Rtype[
limited (2A.k8s.io.api.flowcontrol.v1beta3.LimitedPriorityLevelConfigurationRlimitedX
exempt (2@.k8s.io.api.flowcontrol.v1beta3.ExemptPriorityLevelConfigurationRexempt"á
 PriorityLevelConfigurationStatusc

conditions (2C.k8s.io.api.flowcontrol.v1beta3.PriorityLevelConfigurationConditionR
conditions"v
QueuingConfiguration
queues (Rqueues
handSize (RhandSize*
queueLengthLimit (RqueueLengthLimit"™
ResourcePolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources"
clusterScope (RclusterScope

namespaces (	R
namespaces"I
ServiceAccountSubject
	namespace (	R	namespace
name (	Rname"Å
Subject
kind (	Rkind?
user (2+.k8s.io.api.flowcontrol.v1beta3.UserSubjectRuserB
group (2,.k8s.io.api.flowcontrol.v1beta3.GroupSubjectRgroup]
serviceAccount (25.k8s.io.api.flowcontrol.v1beta3.ServiceAccountSubjectRserviceAccount"!
UserSubject
name (	RnameB Zk8s.io/api/flowcontrol/v1beta3
Î
/k8s.io/api/imagepolicy/v1alpha1/generated.protok8s.io.api.imagepolicy.v1alpha14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Ì
ImageReviewL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataD
spec (20.k8s.io.api.imagepolicy.v1alpha1.ImageReviewSpecRspecJ
status (22.k8s.io.api.imagepolicy.v1alpha1.ImageReviewStatusRstatus"0
ImageReviewContainerSpec
image (	Rimage"Ø
ImageReviewSpecY

containers (29.k8s.io.api.imagepolicy.v1alpha1.ImageReviewContainerSpecR
containersc
annotations (2A.k8s.io.api.imagepolicy.v1alpha1.ImageReviewSpec.AnnotationsEntryRannotations
	namespace (	R	namespace>
AnnotationsEntry
key (	Rkey
value (	Rvalue:8"Ä
ImageReviewStatus
allowed (Rallowed
reason (	Rreasont
auditAnnotations (2H.k8s.io.api.imagepolicy.v1alpha1.ImageReviewStatus.AuditAnnotationsEntryRauditAnnotationsC
AuditAnnotationsEntry
key (	Rkey
value (	Rvalue:8B!Zk8s.io/api/imagepolicy/v1alpha1
–)
(k8s.io/api/networking/v1/generated.protok8s.io.api.networking.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"Ö
HTTPIngressPath
path (	Rpath
pathType (	RpathTypeB
backend (2(.k8s.io.api.networking.v1.IngressBackendRbackend"W
HTTPIngressRuleValue?
paths (2).k8s.io.api.networking.v1.HTTPIngressPathRpaths"ñ
	IPAddressL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.networking.v1.IPAddressSpecRspec"ñ
IPAddressListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.networking.v1.IPAddressRitems"X
IPAddressSpecG
	parentRef (2).k8s.io.api.networking.v1.ParentReferenceR	parentRef"5
IPBlock
cidr (	Rcidr
except (	Rexcept"”
IngressL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
spec (2%.k8s.io.api.networking.v1.IngressSpecRspec?
status (2'.k8s.io.api.networking.v1.IngressStatusRstatus"¶
IngressBackendI
service (2/.k8s.io.api.networking.v1.IngressServiceBackendRserviceI
resource (2-.k8s.io.api.core.v1.TypedLocalObjectReferenceRresource"ú
IngressClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata>
spec (2*.k8s.io.api.networking.v1.IngressClassSpecRspec"ú
IngressClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.networking.v1.IngressClassRitems"ô
IngressClassParametersReference
aPIGroup (	RaPIGroup
kind (	Rkind
name (	Rname
scope (	Rscope
	namespace (	R	namespace"ç
IngressClassSpec

controller (	R
controllerY

parameters (29.k8s.io.api.networking.v1.IngressClassParametersReferenceR
parameters"í
IngressListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata7
items (2!.k8s.io.api.networking.v1.IngressRitems"ã
IngressLoadBalancerIngress
ip (	Rip
hostname (	RhostnameA
ports (2+.k8s.io.api.networking.v1.IngressPortStatusRports"k
IngressLoadBalancerStatusN
ingress (24.k8s.io.api.networking.v1.IngressLoadBalancerIngressRingress"Y
IngressPortStatus
port (Rport
protocol (	Rprotocol
error (	Rerror"y
IngressRule
host (	RhostV
ingressRuleValue (2*.k8s.io.api.networking.v1.IngressRuleValueRingressRuleValue"V
IngressRuleValueB
http (2..k8s.io.api.networking.v1.HTTPIngressRuleValueRhttp"m
IngressServiceBackend
name (	Rname@
port (2,.k8s.io.api.networking.v1.ServiceBackendPortRport"Ä
IngressSpec*
ingressClassName (	RingressClassNameP
defaultBackend (2(.k8s.io.api.networking.v1.IngressBackendRdefaultBackend6
tls (2$.k8s.io.api.networking.v1.IngressTLSRtls;
rules (2%.k8s.io.api.networking.v1.IngressRuleRrules"h
IngressStatusW
loadBalancer (23.k8s.io.api.networking.v1.IngressLoadBalancerStatusRloadBalancer"B

IngressTLS
hosts (	Rhosts

secretName (	R
secretName"û
NetworkPolicyL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata?
spec (2+.k8s.io.api.networking.v1.NetworkPolicySpecRspec"ô
NetworkPolicyEgressRuleA
ports (2+.k8s.io.api.networking.v1.NetworkPolicyPortRports;
to (2+.k8s.io.api.networking.v1.NetworkPolicyPeerRto"û
NetworkPolicyIngressRuleA
ports (2+.k8s.io.api.networking.v1.NetworkPolicyPortRports?
from (2+.k8s.io.api.networking.v1.NetworkPolicyPeerRfrom"û
NetworkPolicyListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata=
items (2'.k8s.io.api.networking.v1.NetworkPolicyRitems"ä
NetworkPolicyPeerU
podSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRpodSelectora
namespaceSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnamespaceSelector;
ipBlock (2!.k8s.io.api.networking.v1.IPBlockRipBlock"è
NetworkPolicyPort
protocol (	RprotocolD
port (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRport
endPort (RendPort"•
NetworkPolicySpecU
podSelector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRpodSelectorL
ingress (22.k8s.io.api.networking.v1.NetworkPolicyIngressRuleRingressI
egress (21.k8s.io.api.networking.v1.NetworkPolicyEgressRuleRegress 
policyTypes (	RpolicyTypes"u
ParentReference
group (	Rgroup
resource (	Rresource
	namespace (	R	namespace
name (	Rname"@
ServiceBackendPort
name (	Rname
number (Rnumber"ﬂ
ServiceCIDRL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.networking.v1.ServiceCIDRSpecRspecC
status (2+.k8s.io.api.networking.v1.ServiceCIDRStatusRstatus"ö
ServiceCIDRListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.networking.v1.ServiceCIDRRitems"'
ServiceCIDRSpec
cidrs (	Rcidrs"d
ServiceCIDRStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsBZk8s.io/api/networking/v1
º
-k8s.io/api/networking/v1beta1/generated.protok8s.io.api.networking.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"ä
HTTPIngressPath
path (	Rpath
pathType (	RpathTypeG
backend (2-.k8s.io.api.networking.v1beta1.IngressBackendRbackend"\
HTTPIngressRuleValueD
paths (2..k8s.io.api.networking.v1beta1.HTTPIngressPathRpaths"õ
	IPAddressL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.networking.v1beta1.IPAddressSpecRspec"õ
IPAddressListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.networking.v1beta1.IPAddressRitems"]
IPAddressSpecL
	parentRef (2..k8s.io.api.networking.v1beta1.ParentReferenceR	parentRef"›
IngressL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata>
spec (2*.k8s.io.api.networking.v1beta1.IngressSpecRspecD
status (2,.k8s.io.api.networking.v1beta1.IngressStatusRstatus"—
IngressBackend 
serviceName (	RserviceNameR
servicePort (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRservicePortI
resource (2-.k8s.io.api.core.v1.TypedLocalObjectReferenceRresource"°
IngressClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataC
spec (2/.k8s.io.api.networking.v1beta1.IngressClassSpecRspec"°
IngressClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataA
items (2+.k8s.io.api.networking.v1beta1.IngressClassRitems"ô
IngressClassParametersReference
aPIGroup (	RaPIGroup
kind (	Rkind
name (	Rname
scope (	Rscope
	namespace (	R	namespace"í
IngressClassSpec

controller (	R
controller^

parameters (2>.k8s.io.api.networking.v1beta1.IngressClassParametersReferenceR
parameters"ó
IngressListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.networking.v1beta1.IngressRitems"ê
IngressLoadBalancerIngress
ip (	Rip
hostname (	RhostnameF
ports (20.k8s.io.api.networking.v1beta1.IngressPortStatusRports"p
IngressLoadBalancerStatusS
ingress (29.k8s.io.api.networking.v1beta1.IngressLoadBalancerIngressRingress"Y
IngressPortStatus
port (Rport
protocol (	Rprotocol
error (	Rerror"~
IngressRule
host (	Rhost[
ingressRuleValue (2/.k8s.io.api.networking.v1beta1.IngressRuleValueRingressRuleValue"[
IngressRuleValueG
http (23.k8s.io.api.networking.v1beta1.HTTPIngressRuleValueRhttp"Å
IngressSpec*
ingressClassName (	RingressClassNameG
backend (2-.k8s.io.api.networking.v1beta1.IngressBackendRbackend;
tls (2).k8s.io.api.networking.v1beta1.IngressTLSRtls@
rules (2*.k8s.io.api.networking.v1beta1.IngressRuleRrules"m
IngressStatus\
loadBalancer (28.k8s.io.api.networking.v1beta1.IngressLoadBalancerStatusRloadBalancer"B

IngressTLS
hosts (	Rhosts

secretName (	R
secretName"u
ParentReference
group (	Rgroup
resource (	Rresource
	namespace (	R	namespace
name (	Rname"È
ServiceCIDRL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.networking.v1beta1.ServiceCIDRSpecRspecH
status (20.k8s.io.api.networking.v1beta1.ServiceCIDRStatusRstatus"ü
ServiceCIDRListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.networking.v1beta1.ServiceCIDRRitems"'
ServiceCIDRSpec
cidrs (	Rcidrs"d
ServiceCIDRStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsBZk8s.io/api/networking/v1beta1
˝
"k8s.io/api/node/v1/generated.protok8s.io.api.node.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ø
OverheadF
podFixed (2*.k8s.io.api.node.v1.Overhead.PodFixedEntryRpodFixedk
PodFixedEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"
RuntimeClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
handler (	Rhandler8
overhead (2.k8s.io.api.node.v1.OverheadRoverhead>

scheduling (2.k8s.io.api.node.v1.SchedulingR
scheduling"ñ
RuntimeClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata6
items (2 .k8s.io.api.node.v1.RuntimeClassRitems"Â

SchedulingT
nodeSelector (20.k8s.io.api.node.v1.Scheduling.NodeSelectorEntryRnodeSelector@
tolerations (2.k8s.io.api.core.v1.TolerationRtolerations?
NodeSelectorEntry
key (	Rkey
value (	Rvalue:8BZk8s.io/api/node/v1
ê

(k8s.io/api/node/v1alpha1/generated.protok8s.io.api.node.v1alpha1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"≈
OverheadL
podFixed (20.k8s.io.api.node.v1alpha1.Overhead.PodFixedEntryRpodFixedk
PodFixedEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"ú
RuntimeClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata>
spec (2*.k8s.io.api.node.v1alpha1.RuntimeClassSpecRspec"ú
RuntimeClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.node.v1alpha1.RuntimeClassRitems"¿
RuntimeClassSpec&
runtimeHandler (	RruntimeHandler>
overhead (2".k8s.io.api.node.v1alpha1.OverheadRoverheadD

scheduling (2$.k8s.io.api.node.v1alpha1.SchedulingR
scheduling"Î

SchedulingZ
nodeSelector (26.k8s.io.api.node.v1alpha1.Scheduling.NodeSelectorEntryRnodeSelector@
tolerations (2.k8s.io.api.core.v1.TolerationRtolerations?
NodeSelectorEntry
key (	Rkey
value (	Rvalue:8BZk8s.io/api/node/v1alpha1
•	
'k8s.io/api/node/v1beta1/generated.protok8s.io.api.node.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ƒ
OverheadK
podFixed (2/.k8s.io.api.node.v1beta1.Overhead.PodFixedEntryRpodFixedk
PodFixedEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"˙
RuntimeClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
handler (	Rhandler=
overhead (2!.k8s.io.api.node.v1beta1.OverheadRoverheadC

scheduling (2#.k8s.io.api.node.v1beta1.SchedulingR
scheduling"õ
RuntimeClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.node.v1beta1.RuntimeClassRitems"Í

SchedulingY
nodeSelector (25.k8s.io.api.node.v1beta1.Scheduling.NodeSelectorEntryRnodeSelector@
tolerations (2.k8s.io.api.core.v1.TolerationRtolerations?
NodeSelectorEntry
key (	Rkey
value (	Rvalue:8BZk8s.io/api/node/v1beta1
Ò
$k8s.io/api/policy/v1/generated.protok8s.io.api.policy.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"≥
EvictionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataY
deleteOptions (23.k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptionsRdeleteOptions"Ô
PodDisruptionBudgetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataA
spec (2-.k8s.io.api.policy.v1.PodDisruptionBudgetSpecRspecG
status (2/.k8s.io.api.policy.v1.PodDisruptionBudgetStatusRstatus"¶
PodDisruptionBudgetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.policy.v1.PodDisruptionBudgetRitems"⁄
PodDisruptionBudgetSpecT
minAvailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRminAvailableO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselectorX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailable>
unhealthyPodEvictionPolicy (	RunhealthyPodEvictionPolicy"ò
PodDisruptionBudgetStatus.
observedGeneration (RobservedGenerationh
disruptedPods (2B.k8s.io.api.policy.v1.PodDisruptionBudgetStatus.DisruptedPodsEntryRdisruptedPods.
disruptionsAllowed (RdisruptionsAllowed&
currentHealthy (RcurrentHealthy&
desiredHealthy (RdesiredHealthy"
expectedPods (RexpectedPodsO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsl
DisruptedPodsEntry
key (	Rkey@
value (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRvalue:8BZk8s.io/api/policy/v1
î
)k8s.io/api/policy/v1beta1/generated.protok8s.io.api.policy.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto3k8s.io/apimachinery/pkg/util/intstr/generated.proto"≥
EvictionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataY
deleteOptions (23.k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptionsRdeleteOptions"˘
PodDisruptionBudgetL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataF
spec (22.k8s.io.api.policy.v1beta1.PodDisruptionBudgetSpecRspecL
status (24.k8s.io.api.policy.v1beta1.PodDisruptionBudgetStatusRstatus"´
PodDisruptionBudgetListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataD
items (2..k8s.io.api.policy.v1beta1.PodDisruptionBudgetRitems"⁄
PodDisruptionBudgetSpecT
minAvailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRminAvailableO
selector (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRselectorX
maxUnavailable (20.k8s.io.apimachinery.pkg.util.intstr.IntOrStringRmaxUnavailable>
unhealthyPodEvictionPolicy (	RunhealthyPodEvictionPolicy"ù
PodDisruptionBudgetStatus.
observedGeneration (RobservedGenerationm
disruptedPods (2G.k8s.io.api.policy.v1beta1.PodDisruptionBudgetStatus.DisruptedPodsEntryRdisruptedPods.
disruptionsAllowed (RdisruptionsAllowed&
currentHealthy (RcurrentHealthy&
desiredHealthy (RdesiredHealthy"
expectedPods (RexpectedPodsO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsl
DisruptedPodsEntry
key (	Rkey@
value (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRvalue:8BZk8s.io/api/policy/v1beta1
≈
"k8s.io/api/rbac/v1/generated.protok8s.io.api.rbac.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"z
AggregationRuleg
clusterRoleSelectors (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRclusterRoleSelectors"‡
ClusterRoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata4
rules (2.k8s.io.api.rbac.v1.PolicyRuleRrulesM
aggregationRule (2#.k8s.io.api.rbac.v1.AggregationRuleRaggregationRule"“
ClusterRoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata7
subjects (2.k8s.io.api.rbac.v1.SubjectRsubjects5
roleRef (2.k8s.io.api.rbac.v1.RoleRefRroleRef"¢
ClusterRoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata<
items (2&.k8s.io.api.rbac.v1.ClusterRoleBindingRitems"î
ClusterRoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata5
items (2.k8s.io.api.rbac.v1.ClusterRoleRitems"Æ

PolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources$
resourceNames (	RresourceNames(
nonResourceURLs (	RnonResourceURLs"ä
RoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata4
rules (2.k8s.io.api.rbac.v1.PolicyRuleRrules"À
RoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata7
subjects (2.k8s.io.api.rbac.v1.SubjectRsubjects5
roleRef (2.k8s.io.api.rbac.v1.RoleRefRroleRef"î
RoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata5
items (2.k8s.io.api.rbac.v1.RoleBindingRitems"Ü
RoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata.
items (2.k8s.io.api.rbac.v1.RoleRitems"M
RoleRef
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname"k
Subject
kind (	Rkind
apiGroup (	RapiGroup
name (	Rname
	namespace (	R	namespaceBZk8s.io/api/rbac/v1
ù
(k8s.io/api/rbac/v1alpha1/generated.protok8s.io.api.rbac.v1alpha14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"z
AggregationRuleg
clusterRoleSelectors (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRclusterRoleSelectors"Ï
ClusterRoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata:
rules (2$.k8s.io.api.rbac.v1alpha1.PolicyRuleRrulesS
aggregationRule (2).k8s.io.api.rbac.v1alpha1.AggregationRuleRaggregationRule"ﬁ
ClusterRoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
subjects (2!.k8s.io.api.rbac.v1alpha1.SubjectRsubjects;
roleRef (2!.k8s.io.api.rbac.v1alpha1.RoleRefRroleRef"®
ClusterRoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.rbac.v1alpha1.ClusterRoleBindingRitems"ö
ClusterRoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.rbac.v1alpha1.ClusterRoleRitems"Æ

PolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources$
resourceNames (	RresourceNames(
nonResourceURLs (	RnonResourceURLs"ê
RoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata:
rules (2$.k8s.io.api.rbac.v1alpha1.PolicyRuleRrules"◊
RoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
subjects (2!.k8s.io.api.rbac.v1alpha1.SubjectRsubjects;
roleRef (2!.k8s.io.api.rbac.v1alpha1.RoleRefRroleRef"ö
RoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.rbac.v1alpha1.RoleBindingRitems"å
RoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata4
items (2.k8s.io.api.rbac.v1alpha1.RoleRitems"M
RoleRef
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname"o
Subject
kind (	Rkind

apiVersion (	R
apiVersion
name (	Rname
	namespace (	R	namespaceBZk8s.io/api/rbac/v1alpha1
ã
'k8s.io/api/rbac/v1beta1/generated.protok8s.io.api.rbac.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"z
AggregationRuleg
clusterRoleSelectors (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRclusterRoleSelectors"Í
ClusterRoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
rules (2#.k8s.io.api.rbac.v1beta1.PolicyRuleRrulesR
aggregationRule (2(.k8s.io.api.rbac.v1beta1.AggregationRuleRaggregationRule"‹
ClusterRoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
subjects (2 .k8s.io.api.rbac.v1beta1.SubjectRsubjects:
roleRef (2 .k8s.io.api.rbac.v1beta1.RoleRefRroleRef"ß
ClusterRoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataA
items (2+.k8s.io.api.rbac.v1beta1.ClusterRoleBindingRitems"ô
ClusterRoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata:
items (2$.k8s.io.api.rbac.v1beta1.ClusterRoleRitems"Æ

PolicyRule
verbs (	Rverbs
	apiGroups (	R	apiGroups
	resources (	R	resources$
resourceNames (	RresourceNames(
nonResourceURLs (	RnonResourceURLs"è
RoleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata9
rules (2#.k8s.io.api.rbac.v1beta1.PolicyRuleRrules"’
RoleBindingL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata<
subjects (2 .k8s.io.api.rbac.v1beta1.SubjectRsubjects:
roleRef (2 .k8s.io.api.rbac.v1beta1.RoleRefRroleRef"ô
RoleBindingListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata:
items (2$.k8s.io.api.rbac.v1beta1.RoleBindingRitems"ã
RoleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata3
items (2.k8s.io.api.rbac.v1beta1.RoleRitems"M
RoleRef
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname"k
Subject
kind (	Rkind
apiGroup (	RapiGroup
name (	Rname
	namespace (	R	namespaceBZk8s.io/api/rbac/v1beta1
õN
&k8s.io/api/resource/v1/generated.protok8s.io.api.resource.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"÷
AllocatedDeviceStatus
driver (	Rdriver
pool (	Rpool
device (	Rdevice
shareID (	RshareIDO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdataK
networkData (2).k8s.io.api.resource.v1.NetworkDeviceDataRnetworkData"Ä
AllocationResultH
devices (2..k8s.io.api.resource.v1.DeviceAllocationResultRdevicesD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector\
allocationTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRallocationTimestamp"3
CELDeviceSelector

expression (	R
expression"á
CapacityRequestPolicyH
default (2..k8s.io.apimachinery.pkg.api.resource.QuantityRdefaultP
validValues (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalidValuesR

validRange (22.k8s.io.api.resource.v1.CapacityRequestPolicyRangeR
validRange"‰
CapacityRequestPolicyRange@
min (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmin@
max (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaxB
step (2..k8s.io.apimachinery.pkg.api.resource.QuantityRstep"€
CapacityRequirementsV
requests (2:.k8s.io.api.resource.v1.CapacityRequirements.RequestsEntryRrequestsk
RequestsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"O
CounterD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue"Ã

CounterSet
name (	RnameL
counters (20.k8s.io.api.resource.v1.CounterSet.CountersEntryRcounters\
CountersEntry
key (	Rkey5
value (2.k8s.io.api.resource.v1.CounterRvalue:8"Å	
Device
name (	RnameN

attributes (2..k8s.io.api.resource.v1.Device.AttributesEntryR
attributesH
capacity (2,.k8s.io.api.resource.v1.Device.CapacityEntryRcapacity\
consumesCounters (20.k8s.io.api.resource.v1.DeviceCounterConsumptionRconsumesCounters
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes;
taints (2#.k8s.io.api.resource.v1.DeviceTaintRtaints 
bindsToNode	 (RbindsToNode,
bindingConditions
 (	RbindingConditions:
bindingFailureConditions (	RbindingFailureConditions:
allowMultipleAllocations (RallowMultipleAllocationsç
nodeAllocatableResourceMappings (2C.k8s.io.api.resource.v1.Device.NodeAllocatableResourceMappingsEntryRnodeAllocatableResourceMappingsf
AttributesEntry
key (	Rkey=
value (2'.k8s.io.api.resource.v1.DeviceAttributeRvalue:8c
CapacityEntry
key (	Rkey<
value (2&.k8s.io.api.resource.v1.DeviceCapacityRvalue:8ä
$NodeAllocatableResourceMappingsEntry
key (	RkeyL
value (26.k8s.io.api.resource.v1.NodeAllocatableResourceMappingRvalue:8"≤
DeviceAllocationConfiguration
source (	Rsource
requests (	Rrequests]
deviceConfiguration (2+.k8s.io.api.resource.v1.DeviceConfigurationRdeviceConfiguration"∏
DeviceAllocationResultO
results (25.k8s.io.api.resource.v1.DeviceRequestAllocationResultRresultsM
config (25.k8s.io.api.resource.v1.DeviceAllocationConfigurationRconfig"…
DeviceAttribute
int (Rint
bool (Rbool
string (	Rstring
version (	Rversion
ints (Rints
bools (Rbools
strings (	Rstrings
versions	 (	Rversions"´
DeviceCapacityD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalueS
requestPolicy (2-.k8s.io.api.resource.v1.CapacityRequestPolicyRrequestPolicy"Ê
DeviceClaimA
requests (2%.k8s.io.api.resource.v1.DeviceRequestRrequestsJ
constraints (2(.k8s.io.api.resource.v1.DeviceConstraintRconstraintsH
config (20.k8s.io.api.resource.v1.DeviceClaimConfigurationRconfig"ï
DeviceClaimConfiguration
requests (	Rrequests]
deviceConfiguration (2+.k8s.io.api.resource.v1.DeviceConfigurationRdeviceConfiguration"ò
DeviceClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.resource.v1.DeviceClassSpecRspec"y
DeviceClassConfiguration]
deviceConfiguration (2+.k8s.io.api.resource.v1.DeviceConfigurationRdeviceConfiguration"ò
DeviceClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.resource.v1.DeviceClassRitems"’
DeviceClassSpecD
	selectors (2&.k8s.io.api.resource.v1.DeviceSelectorR	selectorsH
config (20.k8s.io.api.resource.v1.DeviceClassConfigurationRconfig2
extendedResourceName (	RextendedResourceName"`
DeviceConfigurationI
opaque (21.k8s.io.api.resource.v1.OpaqueDeviceConfigurationRopaque"Ñ
DeviceConstraint
requests (	Rrequests&
matchAttribute (	RmatchAttribute,
distinctAttribute (	RdistinctAttribute"Ù
DeviceCounterConsumption

counterSet (	R
counterSetZ
counters (2>.k8s.io.api.resource.v1.DeviceCounterConsumption.CountersEntryRcounters\
CountersEntry
key (	Rkey5
value (2.k8s.io.api.resource.v1.CounterRvalue:8"ª
DeviceRequest
name (	RnameD
exactly (2*.k8s.io.api.resource.v1.ExactDeviceRequestRexactlyP
firstAvailable (2(.k8s.io.api.resource.v1.DeviceSubRequestRfirstAvailable"›
DeviceRequestAllocationResult
request (	Rrequest
driver (	Rdriver
pool (	Rpool
device (	Rdevice 
adminAccess (RadminAccessJ
tolerations (2(.k8s.io.api.resource.v1.DeviceTolerationRtolerations,
bindingConditions (	RbindingConditions:
bindingFailureConditions (	RbindingFailureConditions
shareID	 (	RshareIDw
consumedCapacity
 (2K.k8s.io.api.resource.v1.DeviceRequestAllocationResult.ConsumedCapacityEntryRconsumedCapacitys
ConsumedCapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"M
DeviceSelector;
cel (2).k8s.io.api.resource.v1.CELDeviceSelectorRcel"Í
DeviceSubRequest
name (	Rname(
deviceClassName (	RdeviceClassNameD
	selectors (2&.k8s.io.api.resource.v1.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (RcountJ
tolerations (2(.k8s.io.api.resource.v1.DeviceTolerationRtolerationsH
capacity (2,.k8s.io.api.resource.v1.CapacityRequirementsRcapacity"ó
DeviceTaint
key (	Rkey
value (	Rvalue
effect (	ReffectH
	timeAdded (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	timeAdded"ú
DeviceToleration
key (	Rkey
operator (	Roperator
value (	Rvalue
effect (	Reffect,
tolerationSeconds (RtolerationSeconds"˙
ExactDeviceRequest(
deviceClassName (	RdeviceClassNameD
	selectors (2&.k8s.io.api.resource.v1.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (Rcount 
adminAccess (RadminAccessJ
tolerations (2(.k8s.io.api.resource.v1.DeviceTolerationRtolerationsH
capacity (2,.k8s.io.api.resource.v1.CapacityRequirementsRcapacity"u
NetworkDeviceData$
interfaceName (	RinterfaceName
ips (	Rips(
hardwareAddress (	RhardwareAddress"¶
NodeAllocatableResourceMapping 
capacityKey (	RcapacityKeyb
allocationMultiplier (2..k8s.io.apimachinery.pkg.api.resource.QuantityRallocationMultiplier"Ç
OpaqueDeviceConfiguration
driver (	RdriverM

parameters (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionR
parameters"·
ResourceClaimL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.resource.v1.ResourceClaimSpecRspecC
status (2+.k8s.io.api.resource.v1.ResourceClaimStatusRstatus"~
ResourceClaimConsumerReference
apiGroup (	RapiGroup
resource (	Rresource
name (	Rname
uid (	Ruid"ú
ResourceClaimListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.resource.v1.ResourceClaimRitems"R
ResourceClaimSpec=
devices (2#.k8s.io.api.resource.v1.DeviceClaimRdevices"Ç
ResourceClaimStatusH

allocation (2(.k8s.io.api.resource.v1.AllocationResultR
allocationX
reservedFor (26.k8s.io.api.resource.v1.ResourceClaimConsumerReferenceRreservedForG
devices (2-.k8s.io.api.resource.v1.AllocatedDeviceStatusRdevices"¨
ResourceClaimTemplateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataE
spec (21.k8s.io.api.resource.v1.ResourceClaimTemplateSpecRspec"¨
ResourceClaimTemplateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.api.resource.v1.ResourceClaimTemplateRitems"®
ResourceClaimTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.resource.v1.ResourceClaimSpecRspec"r
ResourcePool
name (	Rname

generation (R
generation.
resourceSliceCount (RresourceSliceCount"ú
ResourceSliceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.resource.v1.ResourceSliceSpecRspec"ú
ResourceSliceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.resource.v1.ResourceSliceRitems"°
ResourceSliceSpec
driver (	Rdriver8
pool (2$.k8s.io.api.resource.v1.ResourcePoolRpool
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes8
devices (2.k8s.io.api.resource.v1.DeviceRdevices6
perDeviceNodeSelection (RperDeviceNodeSelectionJ
sharedCounters (2".k8s.io.api.resource.v1.CounterSetRsharedCountersBZk8s.io/api/resource/v1
€
,k8s.io/api/resource/v1alpha3/generated.protok8s.io.api.resource.v1alpha34k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"3
CELDeviceSelector

expression (	R
expression"S
DeviceSelectorA
cel (2/.k8s.io.api.resource.v1alpha3.CELDeviceSelectorRcel"ó
DeviceTaint
key (	Rkey
value (	Rvalue
effect (	ReffectH
	timeAdded (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	timeAdded"Û
DeviceTaintRuleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataE
spec (21.k8s.io.api.resource.v1alpha3.DeviceTaintRuleSpecRspecK
status (23.k8s.io.api.resource.v1alpha3.DeviceTaintRuleStatusRstatus"¶
DeviceTaintRuleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.api.resource.v1alpha3.DeviceTaintRuleRitems"±
DeviceTaintRuleSpecY
deviceSelector (21.k8s.io.api.resource.v1alpha3.DeviceTaintSelectorRdeviceSelector?
taint (2).k8s.io.api.resource.v1alpha3.DeviceTaintRtaint"h
DeviceTaintRuleStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"Y
DeviceTaintSelector
driver (	Rdriver
pool (	Rpool
device (	Rdevice"Ç

PoolStatus
driver (	Rdriver
poolName (	RpoolName

generation	 (R
generation.
resourceSliceCount (RresourceSliceCount"
totalDevices (RtotalDevices*
allocatedDevices (RallocatedDevices*
availableDevices (RavailableDevices.
unavailableDevices (RunavailableDevices
nodeName (	RnodeName(
validationError
 (	RvalidationError"ë
ResourcePoolStatusRequestL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataO
spec (2;.k8s.io.api.resource.v1alpha3.ResourcePoolStatusRequestSpecRspecU
status (2=.k8s.io.api.resource.v1alpha3.ResourcePoolStatusRequestStatusRstatus"∫
ResourcePoolStatusRequestListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataM
items (27.k8s.io.api.resource.v1alpha3.ResourcePoolStatusRequestRitems"i
ResourcePoolStatusRequestSpec
driver (	Rdriver
poolName (	RpoolName
limit (Rlimit"–
ResourcePoolStatusRequestStatus
	poolCount (R	poolCount>
pools (2(.k8s.io.api.resource.v1alpha3.PoolStatusRpoolsO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsBZk8s.io/api/resource/v1alpha3
æP
+k8s.io/api/resource/v1beta1/generated.protok8s.io.api.resource.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"€
AllocatedDeviceStatus
driver (	Rdriver
pool (	Rpool
device (	Rdevice
shareID (	RshareIDO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdataP
networkData (2..k8s.io.api.resource.v1beta1.NetworkDeviceDataRnetworkData"Ö
AllocationResultM
devices (23.k8s.io.api.resource.v1beta1.DeviceAllocationResultRdevicesD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector\
allocationTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRallocationTimestamp"©	
BasicDeviceX

attributes (28.k8s.io.api.resource.v1beta1.BasicDevice.AttributesEntryR
attributesR
capacity (26.k8s.io.api.resource.v1beta1.BasicDevice.CapacityEntryRcapacitya
consumesCounters (25.k8s.io.api.resource.v1beta1.DeviceCounterConsumptionRconsumesCounters
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes@
taints (2(.k8s.io.api.resource.v1beta1.DeviceTaintRtaints 
bindsToNode (RbindsToNode,
bindingConditions	 (	RbindingConditions:
bindingFailureConditions
 (	RbindingFailureConditions:
allowMultipleAllocations (RallowMultipleAllocationsó
nodeAllocatableResourceMappings (2M.k8s.io.api.resource.v1beta1.BasicDevice.NodeAllocatableResourceMappingsEntryRnodeAllocatableResourceMappingsk
AttributesEntry
key (	RkeyB
value (2,.k8s.io.api.resource.v1beta1.DeviceAttributeRvalue:8h
CapacityEntry
key (	RkeyA
value (2+.k8s.io.api.resource.v1beta1.DeviceCapacityRvalue:8è
$NodeAllocatableResourceMappingsEntry
key (	RkeyQ
value (2;.k8s.io.api.resource.v1beta1.NodeAllocatableResourceMappingRvalue:8"3
CELDeviceSelector

expression (	R
expression"å
CapacityRequestPolicyH
default (2..k8s.io.apimachinery.pkg.api.resource.QuantityRdefaultP
validValues (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalidValuesW

validRange (27.k8s.io.api.resource.v1beta1.CapacityRequestPolicyRangeR
validRange"‰
CapacityRequestPolicyRange@
min (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmin@
max (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaxB
step (2..k8s.io.apimachinery.pkg.api.resource.QuantityRstep"‡
CapacityRequirements[
requests (2?.k8s.io.api.resource.v1beta1.CapacityRequirements.RequestsEntryRrequestsk
RequestsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"O
CounterD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue"÷

CounterSet
name (	RnameQ
counters (25.k8s.io.api.resource.v1beta1.CounterSet.CountersEntryRcountersa
CountersEntry
key (	Rkey:
value (2$.k8s.io.api.resource.v1beta1.CounterRvalue:8"\
Device
name (	Rname>
basic (2(.k8s.io.api.resource.v1beta1.BasicDeviceRbasic"∑
DeviceAllocationConfiguration
source (	Rsource
requests (	Rrequestsb
deviceConfiguration (20.k8s.io.api.resource.v1beta1.DeviceConfigurationRdeviceConfiguration"¬
DeviceAllocationResultT
results (2:.k8s.io.api.resource.v1beta1.DeviceRequestAllocationResultRresultsR
config (2:.k8s.io.api.resource.v1beta1.DeviceAllocationConfigurationRconfig"…
DeviceAttribute
int (Rint
bool (Rbool
string (	Rstring
version (	Rversion
ints (Rints
bools (Rbools
strings (	Rstrings
versions	 (	Rversions"∞
DeviceCapacityD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalueX
requestPolicy (22.k8s.io.api.resource.v1beta1.CapacityRequestPolicyRrequestPolicy"ı
DeviceClaimF
requests (2*.k8s.io.api.resource.v1beta1.DeviceRequestRrequestsO
constraints (2-.k8s.io.api.resource.v1beta1.DeviceConstraintRconstraintsM
config (25.k8s.io.api.resource.v1beta1.DeviceClaimConfigurationRconfig"ö
DeviceClaimConfiguration
requests (	Rrequestsb
deviceConfiguration (20.k8s.io.api.resource.v1beta1.DeviceConfigurationRdeviceConfiguration"ù
DeviceClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.resource.v1beta1.DeviceClassSpecRspec"~
DeviceClassConfigurationb
deviceConfiguration (20.k8s.io.api.resource.v1beta1.DeviceConfigurationRdeviceConfiguration"ù
DeviceClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.resource.v1beta1.DeviceClassRitems"ﬂ
DeviceClassSpecI
	selectors (2+.k8s.io.api.resource.v1beta1.DeviceSelectorR	selectorsM
config (25.k8s.io.api.resource.v1beta1.DeviceClassConfigurationRconfig2
extendedResourceName (	RextendedResourceName"e
DeviceConfigurationN
opaque (26.k8s.io.api.resource.v1beta1.OpaqueDeviceConfigurationRopaque"Ñ
DeviceConstraint
requests (	Rrequests&
matchAttribute (	RmatchAttribute,
distinctAttribute (	RdistinctAttribute"˛
DeviceCounterConsumption

counterSet (	R
counterSet_
counters (2C.k8s.io.api.resource.v1beta1.DeviceCounterConsumption.CountersEntryRcountersa
CountersEntry
key (	Rkey:
value (2$.k8s.io.api.resource.v1beta1.CounterRvalue:8"Ô
DeviceRequest
name (	Rname(
deviceClassName (	RdeviceClassNameI
	selectors (2+.k8s.io.api.resource.v1beta1.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (Rcount 
adminAccess (RadminAccessU
firstAvailable (2-.k8s.io.api.resource.v1beta1.DeviceSubRequestRfirstAvailableO
tolerations (2-.k8s.io.api.resource.v1beta1.DeviceTolerationRtolerationsM
capacity	 (21.k8s.io.api.resource.v1beta1.CapacityRequirementsRcapacity"Á
DeviceRequestAllocationResult
request (	Rrequest
driver (	Rdriver
pool (	Rpool
device (	Rdevice 
adminAccess (RadminAccessO
tolerations (2-.k8s.io.api.resource.v1beta1.DeviceTolerationRtolerations,
bindingConditions (	RbindingConditions:
bindingFailureConditions (	RbindingFailureConditions
shareID	 (	RshareID|
consumedCapacity
 (2P.k8s.io.api.resource.v1beta1.DeviceRequestAllocationResult.ConsumedCapacityEntryRconsumedCapacitys
ConsumedCapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"R
DeviceSelector@
cel (2..k8s.io.api.resource.v1beta1.CELDeviceSelectorRcel"˘
DeviceSubRequest
name (	Rname(
deviceClassName (	RdeviceClassNameI
	selectors (2+.k8s.io.api.resource.v1beta1.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (RcountO
tolerations (2-.k8s.io.api.resource.v1beta1.DeviceTolerationRtolerationsM
capacity (21.k8s.io.api.resource.v1beta1.CapacityRequirementsRcapacity"ó
DeviceTaint
key (	Rkey
value (	Rvalue
effect (	ReffectH
	timeAdded (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	timeAdded"ú
DeviceToleration
key (	Rkey
operator (	Roperator
value (	Rvalue
effect (	Reffect,
tolerationSeconds (RtolerationSeconds"u
NetworkDeviceData$
interfaceName (	RinterfaceName
ips (	Rips(
hardwareAddress (	RhardwareAddress"¶
NodeAllocatableResourceMapping 
capacityKey (	RcapacityKeyb
allocationMultiplier (2..k8s.io.apimachinery.pkg.api.resource.QuantityRallocationMultiplier"Ç
OpaqueDeviceConfiguration
driver (	RdriverM

parameters (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionR
parameters"Î
ResourceClaimL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta1.ResourceClaimSpecRspecH
status (20.k8s.io.api.resource.v1beta1.ResourceClaimStatusRstatus"~
ResourceClaimConsumerReference
apiGroup (	RapiGroup
resource (	Rresource
name (	Rname
uid (	Ruid"°
ResourceClaimListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.resource.v1beta1.ResourceClaimRitems"W
ResourceClaimSpecB
devices (2(.k8s.io.api.resource.v1beta1.DeviceClaimRdevices"ë
ResourceClaimStatusM

allocation (2-.k8s.io.api.resource.v1beta1.AllocationResultR
allocation]
reservedFor (2;.k8s.io.api.resource.v1beta1.ResourceClaimConsumerReferenceRreservedForL
devices (22.k8s.io.api.resource.v1beta1.AllocatedDeviceStatusRdevices"±
ResourceClaimTemplateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataJ
spec (26.k8s.io.api.resource.v1beta1.ResourceClaimTemplateSpecRspec"±
ResourceClaimTemplateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.resource.v1beta1.ResourceClaimTemplateRitems"≠
ResourceClaimTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta1.ResourceClaimSpecRspec"r
ResourcePool
name (	Rname

generation (R
generation.
resourceSliceCount (RresourceSliceCount"°
ResourceSliceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta1.ResourceSliceSpecRspec"°
ResourceSliceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.resource.v1beta1.ResourceSliceRitems"∞
ResourceSliceSpec
driver (	Rdriver=
pool (2).k8s.io.api.resource.v1beta1.ResourcePoolRpool
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes=
devices (2#.k8s.io.api.resource.v1beta1.DeviceRdevices6
perDeviceNodeSelection (RperDeviceNodeSelectionO
sharedCounters (2'.k8s.io.api.resource.v1beta1.CounterSetRsharedCountersBZk8s.io/api/resource/v1beta1
’V
+k8s.io/api/resource/v1beta2/generated.protok8s.io.api.resource.v1beta2"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"€
AllocatedDeviceStatus
driver (	Rdriver
pool (	Rpool
device (	Rdevice
shareID (	RshareIDO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsA
data (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRdataP
networkData (2..k8s.io.api.resource.v1beta2.NetworkDeviceDataRnetworkData"Ö
AllocationResultM
devices (23.k8s.io.api.resource.v1beta2.DeviceAllocationResultRdevicesD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector\
allocationTimestamp (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRallocationTimestamp"3
CELDeviceSelector

expression (	R
expression"å
CapacityRequestPolicyH
default (2..k8s.io.apimachinery.pkg.api.resource.QuantityRdefaultP
validValues (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalidValuesW

validRange (27.k8s.io.api.resource.v1beta2.CapacityRequestPolicyRangeR
validRange"‰
CapacityRequestPolicyRange@
min (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmin@
max (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaxB
step (2..k8s.io.apimachinery.pkg.api.resource.QuantityRstep"‡
CapacityRequirements[
requests (2?.k8s.io.api.resource.v1beta2.CapacityRequirements.RequestsEntryRrequestsk
RequestsEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"O
CounterD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue"÷

CounterSet
name (	RnameQ
counters (25.k8s.io.api.resource.v1beta2.CounterSet.CountersEntryRcountersa
CountersEntry
key (	Rkey:
value (2$.k8s.io.api.resource.v1beta2.CounterRvalue:8"©	
Device
name (	RnameS

attributes (23.k8s.io.api.resource.v1beta2.Device.AttributesEntryR
attributesM
capacity (21.k8s.io.api.resource.v1beta2.Device.CapacityEntryRcapacitya
consumesCounters (25.k8s.io.api.resource.v1beta2.DeviceCounterConsumptionRconsumesCounters
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes@
taints (2(.k8s.io.api.resource.v1beta2.DeviceTaintRtaints 
bindsToNode	 (RbindsToNode,
bindingConditions
 (	RbindingConditions:
bindingFailureConditions (	RbindingFailureConditions:
allowMultipleAllocations (RallowMultipleAllocationsí
nodeAllocatableResourceMappings (2H.k8s.io.api.resource.v1beta2.Device.NodeAllocatableResourceMappingsEntryRnodeAllocatableResourceMappingsk
AttributesEntry
key (	RkeyB
value (2,.k8s.io.api.resource.v1beta2.DeviceAttributeRvalue:8h
CapacityEntry
key (	RkeyA
value (2+.k8s.io.api.resource.v1beta2.DeviceCapacityRvalue:8è
$NodeAllocatableResourceMappingsEntry
key (	RkeyQ
value (2;.k8s.io.api.resource.v1beta2.NodeAllocatableResourceMappingRvalue:8"∑
DeviceAllocationConfiguration
source (	Rsource
requests (	Rrequestsb
deviceConfiguration (20.k8s.io.api.resource.v1beta2.DeviceConfigurationRdeviceConfiguration"¬
DeviceAllocationResultT
results (2:.k8s.io.api.resource.v1beta2.DeviceRequestAllocationResultRresultsR
config (2:.k8s.io.api.resource.v1beta2.DeviceAllocationConfigurationRconfig"…
DeviceAttribute
int (Rint
bool (Rbool
string (	Rstring
version (	Rversion
ints (Rints
bools (Rbools
strings (	Rstrings
versions	 (	Rversions"∞
DeviceCapacityD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalueX
requestPolicy (22.k8s.io.api.resource.v1beta2.CapacityRequestPolicyRrequestPolicy"ı
DeviceClaimF
requests (2*.k8s.io.api.resource.v1beta2.DeviceRequestRrequestsO
constraints (2-.k8s.io.api.resource.v1beta2.DeviceConstraintRconstraintsM
config (25.k8s.io.api.resource.v1beta2.DeviceClaimConfigurationRconfig"ö
DeviceClaimConfiguration
requests (	Rrequestsb
deviceConfiguration (20.k8s.io.api.resource.v1beta2.DeviceConfigurationRdeviceConfiguration"ù
DeviceClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.resource.v1beta2.DeviceClassSpecRspec"~
DeviceClassConfigurationb
deviceConfiguration (20.k8s.io.api.resource.v1beta2.DeviceConfigurationRdeviceConfiguration"ù
DeviceClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.resource.v1beta2.DeviceClassRitems"ﬂ
DeviceClassSpecI
	selectors (2+.k8s.io.api.resource.v1beta2.DeviceSelectorR	selectorsM
config (25.k8s.io.api.resource.v1beta2.DeviceClassConfigurationRconfig2
extendedResourceName (	RextendedResourceName"e
DeviceConfigurationN
opaque (26.k8s.io.api.resource.v1beta2.OpaqueDeviceConfigurationRopaque"Ñ
DeviceConstraint
requests (	Rrequests&
matchAttribute (	RmatchAttribute,
distinctAttribute (	RdistinctAttribute"˛
DeviceCounterConsumption

counterSet (	R
counterSet_
counters (2C.k8s.io.api.resource.v1beta2.DeviceCounterConsumption.CountersEntryRcountersa
CountersEntry
key (	Rkey:
value (2$.k8s.io.api.resource.v1beta2.CounterRvalue:8"≈
DeviceRequest
name (	RnameI
exactly (2/.k8s.io.api.resource.v1beta2.ExactDeviceRequestRexactlyU
firstAvailable (2-.k8s.io.api.resource.v1beta2.DeviceSubRequestRfirstAvailable"Á
DeviceRequestAllocationResult
request (	Rrequest
driver (	Rdriver
pool (	Rpool
device (	Rdevice 
adminAccess (RadminAccessO
tolerations (2-.k8s.io.api.resource.v1beta2.DeviceTolerationRtolerations,
bindingConditions (	RbindingConditions:
bindingFailureConditions (	RbindingFailureConditions
shareID	 (	RshareID|
consumedCapacity
 (2P.k8s.io.api.resource.v1beta2.DeviceRequestAllocationResult.ConsumedCapacityEntryRconsumedCapacitys
ConsumedCapacityEntry
key (	RkeyD
value (2..k8s.io.apimachinery.pkg.api.resource.QuantityRvalue:8"R
DeviceSelector@
cel (2..k8s.io.api.resource.v1beta2.CELDeviceSelectorRcel"˘
DeviceSubRequest
name (	Rname(
deviceClassName (	RdeviceClassNameI
	selectors (2+.k8s.io.api.resource.v1beta2.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (RcountO
tolerations (2-.k8s.io.api.resource.v1beta2.DeviceTolerationRtolerationsM
capacity (21.k8s.io.api.resource.v1beta2.CapacityRequirementsRcapacity"ó
DeviceTaint
key (	Rkey
value (	Rvalue
effect (	ReffectH
	timeAdded (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeR	timeAdded"Ò
DeviceTaintRuleL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataD
spec (20.k8s.io.api.resource.v1beta2.DeviceTaintRuleSpecRspecJ
status (22.k8s.io.api.resource.v1beta2.DeviceTaintRuleStatusRstatus"•
DeviceTaintRuleListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.resource.v1beta2.DeviceTaintRuleRitems"Ø
DeviceTaintRuleSpecX
deviceSelector (20.k8s.io.api.resource.v1beta2.DeviceTaintSelectorRdeviceSelector>
taint (2(.k8s.io.api.resource.v1beta2.DeviceTaintRtaint"h
DeviceTaintRuleStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions"Y
DeviceTaintSelector
driver (	Rdriver
pool (	Rpool
device (	Rdevice"ú
DeviceToleration
key (	Rkey
operator (	Roperator
value (	Rvalue
effect (	Reffect,
tolerationSeconds (RtolerationSeconds"â
ExactDeviceRequest(
deviceClassName (	RdeviceClassNameI
	selectors (2+.k8s.io.api.resource.v1beta2.DeviceSelectorR	selectors&
allocationMode (	RallocationMode
count (Rcount 
adminAccess (RadminAccessO
tolerations (2-.k8s.io.api.resource.v1beta2.DeviceTolerationRtolerationsM
capacity (21.k8s.io.api.resource.v1beta2.CapacityRequirementsRcapacity"u
NetworkDeviceData$
interfaceName (	RinterfaceName
ips (	Rips(
hardwareAddress (	RhardwareAddress"¶
NodeAllocatableResourceMapping 
capacityKey (	RcapacityKeyb
allocationMultiplier (2..k8s.io.apimachinery.pkg.api.resource.QuantityRallocationMultiplier"Ç
OpaqueDeviceConfiguration
driver (	RdriverM

parameters (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionR
parameters"Î
ResourceClaimL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta2.ResourceClaimSpecRspecH
status (20.k8s.io.api.resource.v1beta2.ResourceClaimStatusRstatus"~
ResourceClaimConsumerReference
apiGroup (	RapiGroup
resource (	Rresource
name (	Rname
uid (	Ruid"°
ResourceClaimListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.resource.v1beta2.ResourceClaimRitems"W
ResourceClaimSpecB
devices (2(.k8s.io.api.resource.v1beta2.DeviceClaimRdevices"ë
ResourceClaimStatusM

allocation (2-.k8s.io.api.resource.v1beta2.AllocationResultR
allocation]
reservedFor (2;.k8s.io.api.resource.v1beta2.ResourceClaimConsumerReferenceRreservedForL
devices (22.k8s.io.api.resource.v1beta2.AllocatedDeviceStatusRdevices"±
ResourceClaimTemplateL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataJ
spec (26.k8s.io.api.resource.v1beta2.ResourceClaimTemplateSpecRspec"±
ResourceClaimTemplateListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.resource.v1beta2.ResourceClaimTemplateRitems"≠
ResourceClaimTemplateSpecL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta2.ResourceClaimSpecRspec"r
ResourcePool
name (	Rname

generation (R
generation.
resourceSliceCount (RresourceSliceCount"°
ResourceSliceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataB
spec (2..k8s.io.api.resource.v1beta2.ResourceSliceSpecRspec"°
ResourceSliceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata@
items (2*.k8s.io.api.resource.v1beta2.ResourceSliceRitems"∞
ResourceSliceSpec
driver (	Rdriver=
pool (2).k8s.io.api.resource.v1beta2.ResourcePoolRpool
nodeName (	RnodeNameD
nodeSelector (2 .k8s.io.api.core.v1.NodeSelectorRnodeSelector
allNodes (RallNodes=
devices (2#.k8s.io.api.resource.v1beta2.DeviceRdevices6
perDeviceNodeSelection (RperDeviceNodeSelectionO
sharedCounters (2'.k8s.io.api.resource.v1beta2.CounterSetRsharedCountersBZk8s.io/api/resource/v1beta2
Æ
(k8s.io/api/scheduling/v1/generated.protok8s.io.api.scheduling.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Á
PriorityClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
value (Rvalue$
globalDefault (RglobalDefault 
description (	Rdescription*
preemptionPolicy (	RpreemptionPolicy"û
PriorityClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata=
items (2'.k8s.io.api.scheduling.v1.PriorityClassRitemsBZk8s.io/api/scheduling/v1
‰
.k8s.io/api/scheduling/v1alpha2/generated.protok8s.io.api.scheduling.v1alpha24k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"
BasicSchedulingPolicy"2
GangSchedulingPolicy
minCount (RminCount"‚
PodGroupL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.scheduling.v1alpha2.PodGroupSpecRspecF
status (2..k8s.io.api.scheduling.v1alpha2.PodGroupStatusRstatus"ö
PodGroupListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.scheduling.v1alpha2.PodGroupRitems"ó
PodGroupResourceClaim
name (	Rname,
resourceClaimName (	RresourceClaimName<
resourceClaimTemplateName (	RresourceClaimTemplateName"_
PodGroupResourceClaimStatus
name (	Rname,
resourceClaimName (	RresourceClaimName"o
PodGroupSchedulingConstraintsN
topology (22.k8s.io.api.scheduling.v1alpha2.TopologyConstraintRtopology"±
PodGroupSchedulingPolicyK
basic (25.k8s.io.api.scheduling.v1alpha2.BasicSchedulingPolicyRbasicH
gang (24.k8s.io.api.scheduling.v1alpha2.GangSchedulingPolicyRgang"ß
PodGroupSpeck
podGroupTemplateRef (29.k8s.io.api.scheduling.v1alpha2.PodGroupTemplateReferenceRpodGroupTemplateRefd
schedulingPolicy (28.k8s.io.api.scheduling.v1alpha2.PodGroupSchedulingPolicyRschedulingPolicys
schedulingConstraints (2=.k8s.io.api.scheduling.v1alpha2.PodGroupSchedulingConstraintsRschedulingConstraints]
resourceClaims (25.k8s.io.api.scheduling.v1alpha2.PodGroupResourceClaimRresourceClaims&
disruptionMode (	RdisruptionMode,
priorityClassName (	RpriorityClassName
priority (Rpriority"‘
PodGroupStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditionsq
resourceClaimStatuses (2;.k8s.io.api.scheduling.v1alpha2.PodGroupResourceClaimStatusRresourceClaimStatuses"“
PodGroupTemplate
name (	Rnamed
schedulingPolicy (28.k8s.io.api.scheduling.v1alpha2.PodGroupSchedulingPolicyRschedulingPolicys
schedulingConstraints (2=.k8s.io.api.scheduling.v1alpha2.PodGroupSchedulingConstraintsRschedulingConstraints]
resourceClaims (25.k8s.io.api.scheduling.v1alpha2.PodGroupResourceClaimRresourceClaims&
disruptionMode (	RdisruptionMode,
priorityClassName (	RpriorityClassName
priority (Rpriority"z
PodGroupTemplateReference]
workload (2A.k8s.io.api.scheduling.v1alpha2.WorkloadPodGroupTemplateReferenceRworkload"&
TopologyConstraint
key (	Rkey"_
TypedLocalObjectReference
apiGroup (	RapiGroup
kind (	Rkind
name (	Rname"ö
WorkloadL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata@
spec (2,.k8s.io.api.scheduling.v1alpha2.WorkloadSpecRspec"ö
WorkloadListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.scheduling.v1alpha2.WorkloadRitems"{
!WorkloadPodGroupTemplateReference"
workloadName (	RworkloadName2
podGroupTemplateName (	RpodGroupTemplateName"œ
WorkloadSpec_
controllerRef (29.k8s.io.api.scheduling.v1alpha2.TypedLocalObjectReferenceRcontrollerRef^
podGroupTemplates (20.k8s.io.api.scheduling.v1alpha2.PodGroupTemplateRpodGroupTemplatesB Zk8s.io/api/scheduling/v1alpha2
¬
-k8s.io/api/scheduling/v1beta1/generated.protok8s.io.api.scheduling.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"Á
PriorityClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata
value (Rvalue$
globalDefault (RglobalDefault 
description (	Rdescription*
preemptionPolicy (	RpreemptionPolicy"£
PriorityClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.scheduling.v1beta1.PriorityClassRitemsBZk8s.io/api/scheduling/v1beta1
ú&
%k8s.io/api/storage/v1/generated.protok8s.io.api.storage.v1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ì
	CSIDriverL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata8
spec (2$.k8s.io.api.storage.v1.CSIDriverSpecRspec"ì
CSIDriverListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata6
items (2 .k8s.io.api.storage.v1.CSIDriverRitems"⁄
CSIDriverSpec&
attachRequired (RattachRequired&
podInfoOnMount (RpodInfoOnMount2
volumeLifecycleModes (	RvolumeLifecycleModes(
storageCapacity (RstorageCapacity$
fsGroupPolicy (	RfsGroupPolicyI
tokenRequests (2#.k8s.io.api.storage.v1.TokenRequestRtokenRequests,
requiresRepublish (RrequiresRepublish"
seLinuxMount (RseLinuxMountN
"nodeAllocatableUpdatePeriodSeconds	 (R"nodeAllocatableUpdatePeriodSecondsB
serviceAccountTokenInSecrets
 (RserviceAccountTokenInSecretsD
preventPodSchedulingIfMissing (RpreventPodSchedulingIfMissing"è
CSINodeL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata6
spec (2".k8s.io.api.storage.v1.CSINodeSpecRspec"≠
CSINodeDriver
name (	Rname
nodeID (	RnodeID"
topologyKeys (	RtopologyKeysL
allocatable (2*.k8s.io.api.storage.v1.VolumeNodeResourcesRallocatable"è
CSINodeListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata4
items (2.k8s.io.api.storage.v1.CSINodeRitems"M
CSINodeSpec>
drivers (2$.k8s.io.api.storage.v1.CSINodeDriverRdrivers"ë
CSIStorageCapacityL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataW
nodeTopology (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnodeTopology*
storageClassName (	RstorageClassNameJ
capacity (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcapacity\
maximumVolumeSize (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaximumVolumeSize"•
CSIStorageCapacityListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata?
items (2).k8s.io.api.storage.v1.CSIStorageCapacityRitems"ñ
StorageClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata 
provisioner (	RprovisionerS

parameters (23.k8s.io.api.storage.v1.StorageClass.ParametersEntryR
parameters$
reclaimPolicy (	RreclaimPolicy"
mountOptions (	RmountOptions2
allowVolumeExpansion (RallowVolumeExpansion,
volumeBindingMode (	RvolumeBindingModeV
allowedTopologies (2(.k8s.io.api.core.v1.TopologySelectorTermRallowedTopologies=
ParametersEntry
key (	Rkey
value (	Rvalue:8"ô
StorageClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.storage.v1.StorageClassRitems"X
TokenRequest
audience (	Raudience,
expirationSeconds (RexpirationSeconds"Ë
VolumeAttachmentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata?
spec (2+.k8s.io.api.storage.v1.VolumeAttachmentSpecRspecE
status (2-.k8s.io.api.storage.v1.VolumeAttachmentStatusRstatus"°
VolumeAttachmentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata=
items (2'.k8s.io.api.storage.v1.VolumeAttachmentRitems"¢
VolumeAttachmentSource2
persistentVolumeName (	RpersistentVolumeNameT
inlineVolumeSpec (2(.k8s.io.api.core.v1.PersistentVolumeSpecRinlineVolumeSpec"ï
VolumeAttachmentSpec
attacher (	RattacherE
source (2-.k8s.io.api.storage.v1.VolumeAttachmentSourceRsource
nodeName (	RnodeName"˛
VolumeAttachmentStatus
attached (Rattachedu
attachmentMetadata (2E.k8s.io.api.storage.v1.VolumeAttachmentStatus.AttachmentMetadataEntryRattachmentMetadataD
attachError (2".k8s.io.api.storage.v1.VolumeErrorRattachErrorD
detachError (2".k8s.io.api.storage.v1.VolumeErrorRdetachErrorE
AttachmentMetadataEntry
key (	Rkey
value (	Rvalue:8"¢
VolumeAttributesClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata

driverName (	R
driverName\

parameters (2<.k8s.io.api.storage.v1.VolumeAttributesClass.ParametersEntryR
parameters=
ParametersEntry
key (	Rkey
value (	Rvalue:8"´
VolumeAttributesClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.storage.v1.VolumeAttributesClassRitems"Ö
VolumeError>
time (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRtime
message (	Rmessage
	errorCode (R	errorCode"+
VolumeNodeResources
count (RcountBZk8s.io/api/storage/v1
Ç
+k8s.io/api/storage/v1alpha1/generated.protok8s.io.api.storage.v1alpha1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ë
CSIStorageCapacityL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataW
nodeTopology (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnodeTopology*
storageClassName (	RstorageClassNameJ
capacity (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcapacity\
maximumVolumeSize (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaximumVolumeSize"´
CSIStorageCapacityListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataE
items (2/.k8s.io.api.storage.v1alpha1.CSIStorageCapacityRitems"Ù
VolumeAttachmentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataE
spec (21.k8s.io.api.storage.v1alpha1.VolumeAttachmentSpecRspecK
status (23.k8s.io.api.storage.v1alpha1.VolumeAttachmentStatusRstatus"ß
VolumeAttachmentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataC
items (2-.k8s.io.api.storage.v1alpha1.VolumeAttachmentRitems"¢
VolumeAttachmentSource2
persistentVolumeName (	RpersistentVolumeNameT
inlineVolumeSpec (2(.k8s.io.api.core.v1.PersistentVolumeSpecRinlineVolumeSpec"õ
VolumeAttachmentSpec
attacher (	RattacherK
source (23.k8s.io.api.storage.v1alpha1.VolumeAttachmentSourceRsource
nodeName (	RnodeName"ê
VolumeAttachmentStatus
attached (Rattached{
attachmentMetadata (2K.k8s.io.api.storage.v1alpha1.VolumeAttachmentStatus.AttachmentMetadataEntryRattachmentMetadataJ
attachError (2(.k8s.io.api.storage.v1alpha1.VolumeErrorRattachErrorJ
detachError (2(.k8s.io.api.storage.v1alpha1.VolumeErrorRdetachErrorE
AttachmentMetadataEntry
key (	Rkey
value (	Rvalue:8"®
VolumeAttributesClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata

driverName (	R
driverNameb

parameters (2B.k8s.io.api.storage.v1alpha1.VolumeAttributesClass.ParametersEntryR
parameters=
ParametersEntry
key (	Rkey
value (	Rvalue:8"±
VolumeAttributesClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataH
items (22.k8s.io.api.storage.v1alpha1.VolumeAttributesClassRitems"Ö
VolumeError>
time (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRtime
message (	Rmessage
	errorCode (R	errorCodeBZk8s.io/api/storage/v1alpha1
ä'
*k8s.io/api/storage/v1beta1/generated.protok8s.io.api.storage.v1beta1"k8s.io/api/core/v1/generated.proto4k8s.io/apimachinery/pkg/api/resource/generated.proto4k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ò
	CSIDriverL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata=
spec (2).k8s.io.api.storage.v1beta1.CSIDriverSpecRspec"ò
CSIDriverListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata;
items (2%.k8s.io.api.storage.v1beta1.CSIDriverRitems"ﬂ
CSIDriverSpec&
attachRequired (RattachRequired&
podInfoOnMount (RpodInfoOnMount2
volumeLifecycleModes (	RvolumeLifecycleModes(
storageCapacity (RstorageCapacity$
fsGroupPolicy (	RfsGroupPolicyN
tokenRequests (2(.k8s.io.api.storage.v1beta1.TokenRequestRtokenRequests,
requiresRepublish (RrequiresRepublish"
seLinuxMount (RseLinuxMountN
"nodeAllocatableUpdatePeriodSeconds	 (R"nodeAllocatableUpdatePeriodSecondsB
serviceAccountTokenInSecrets
 (RserviceAccountTokenInSecretsD
preventPodSchedulingIfMissing (RpreventPodSchedulingIfMissing"î
CSINodeL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata;
spec (2'.k8s.io.api.storage.v1beta1.CSINodeSpecRspec"≤
CSINodeDriver
name (	Rname
nodeID (	RnodeID"
topologyKeys (	RtopologyKeysQ
allocatable (2/.k8s.io.api.storage.v1beta1.VolumeNodeResourcesRallocatable"î
CSINodeListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata9
items (2#.k8s.io.api.storage.v1beta1.CSINodeRitems"R
CSINodeSpecC
drivers (2).k8s.io.api.storage.v1beta1.CSINodeDriverRdrivers"ë
CSIStorageCapacityL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataW
nodeTopology (23.k8s.io.apimachinery.pkg.apis.meta.v1.LabelSelectorRnodeTopology*
storageClassName (	RstorageClassNameJ
capacity (2..k8s.io.apimachinery.pkg.api.resource.QuantityRcapacity\
maximumVolumeSize (2..k8s.io.apimachinery.pkg.api.resource.QuantityRmaximumVolumeSize"™
CSIStorageCapacityListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataD
items (2..k8s.io.api.storage.v1beta1.CSIStorageCapacityRitems"õ
StorageClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata 
provisioner (	RprovisionerX

parameters (28.k8s.io.api.storage.v1beta1.StorageClass.ParametersEntryR
parameters$
reclaimPolicy (	RreclaimPolicy"
mountOptions (	RmountOptions2
allowVolumeExpansion (RallowVolumeExpansion,
volumeBindingMode (	RvolumeBindingModeV
allowedTopologies (2(.k8s.io.api.core.v1.TopologySelectorTermRallowedTopologies=
ParametersEntry
key (	Rkey
value (	Rvalue:8"û
StorageClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadata>
items (2(.k8s.io.api.storage.v1beta1.StorageClassRitems"X
TokenRequest
audience (	Raudience,
expirationSeconds (RexpirationSeconds"Ú
VolumeAttachmentL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataD
spec (20.k8s.io.api.storage.v1beta1.VolumeAttachmentSpecRspecJ
status (22.k8s.io.api.storage.v1beta1.VolumeAttachmentStatusRstatus"¶
VolumeAttachmentListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataB
items (2,.k8s.io.api.storage.v1beta1.VolumeAttachmentRitems"¢
VolumeAttachmentSource2
persistentVolumeName (	RpersistentVolumeNameT
inlineVolumeSpec (2(.k8s.io.api.core.v1.PersistentVolumeSpecRinlineVolumeSpec"ö
VolumeAttachmentSpec
attacher (	RattacherJ
source (22.k8s.io.api.storage.v1beta1.VolumeAttachmentSourceRsource
nodeName (	RnodeName"ç
VolumeAttachmentStatus
attached (Rattachedz
attachmentMetadata (2J.k8s.io.api.storage.v1beta1.VolumeAttachmentStatus.AttachmentMetadataEntryRattachmentMetadataI
attachError (2'.k8s.io.api.storage.v1beta1.VolumeErrorRattachErrorI
detachError (2'.k8s.io.api.storage.v1beta1.VolumeErrorRdetachErrorE
AttachmentMetadataEntry
key (	Rkey
value (	Rvalue:8"ß
VolumeAttributesClassL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata

driverName (	R
driverNamea

parameters (2A.k8s.io.api.storage.v1beta1.VolumeAttributesClass.ParametersEntryR
parameters=
ParametersEntry
key (	Rkey
value (	Rvalue:8"∞
VolumeAttributesClassListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataG
items (21.k8s.io.api.storage.v1beta1.VolumeAttributesClassRitems"Ö
VolumeError>
time (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRtime
message (	Rmessage
	errorCode (R	errorCode"+
VolumeNodeResources
count (RcountBZk8s.io/api/storage/v1beta1
â
3k8s.io/api/storagemigration/v1beta1/generated.proto#k8s.io.api.storagemigration.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ô
StorageVersionMigrationL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataT
spec (2@.k8s.io.api.storagemigration.v1beta1.StorageVersionMigrationSpecRspecZ
status (2B.k8s.io.api.storagemigration.v1beta1.StorageVersionMigrationStatusRstatus"Ω
StorageVersionMigrationListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataR
items (2<.k8s.io.api.storagemigration.v1beta1.StorageVersionMigrationRitems"n
StorageVersionMigrationSpecO
resource (23.k8s.io.apimachinery.pkg.apis.meta.v1.GroupResourceRresource"ö
StorageVersionMigrationStatusO

conditions (2/.k8s.io.apimachinery.pkg.apis.meta.v1.ConditionR
conditions(
resourceVersion (	RresourceVersionB%Z#k8s.io/api/storagemigration/v1beta1
ÙG
Hk8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/generated.proto8k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ú
ConversionRequest
uid (	Ruid,
desiredAPIVersion (	RdesiredAPIVersionG
objects (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRobjects"«
ConversionResponse
uid (	RuidY
convertedObjects (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRconvertedObjectsD
result (2,.k8s.io.apimachinery.pkg.apis.meta.v1.StatusRresult"„
ConversionReviewe
request (2K.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ConversionRequestRrequesth
response (2L.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ConversionResponseRresponse"∫
CustomResourceColumnDefinition
name (	Rname
type (	Rtype
format (	Rformat 
description (	Rdescription
priority (Rpriority
jsonPath (	RjsonPath"ù
CustomResourceConversion
strategy (	Rstrategye
webhook (2K.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.WebhookConversionRwebhook"∆
CustomResourceDefinitionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataj
spec (2V.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionSpecRspecp
status (2X.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionStatusRstatus"ç
!CustomResourceDefinitionCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage.
observedGeneration (RobservedGeneration"‘
CustomResourceDefinitionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadatah
items (2R.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionRitems"√
CustomResourceDefinitionNames
plural (	Rplural
singular (	Rsingular

shortNames (	R
shortNames
kind (	Rkind
listKind (	RlistKind

categories (	R
categories"⁄
CustomResourceDefinitionSpec
group (	Rgroupm
names (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNamesRnames
scope (	Rscopeu
versions (2Y.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersionRversionsr

conversion	 (2R.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceConversionR
conversion4
preserveUnknownFields
 (RpreserveUnknownFields"Ù
CustomResourceDefinitionStatus{

conditions (2[.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionConditionR
conditions}
acceptedNames (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionNamesRacceptedNames&
storedVersions (	RstoredVersions.
observedGeneration (RobservedGeneration"´
CustomResourceDefinitionVersion
name (	Rname
served (Rserved
storage (Rstorage

deprecated (R
deprecated.
deprecationWarning (	RdeprecationWarningj
schema (2R.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceValidationRschemax
subresources (2T.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceSubresourcesRsubresourcesî
additionalPrinterColumns (2X.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceColumnDefinitionRadditionalPrinterColumnsu
selectableFields	 (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.SelectableFieldRselectableFields"™
CustomResourceSubresourceScale*
specReplicasPath (	RspecReplicasPath.
statusReplicasPath (	RstatusReplicasPath,
labelSelectorPath (	RlabelSelectorPath"!
CustomResourceSubresourceStatus"ˇ
CustomResourceSubresourcesq
status (2Y.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceSubresourceStatusRstatusn
scale (2X.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceSubresourceScaleRscale"è
CustomResourceValidations
openAPIV3Schema (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRopenAPIV3Schema"K
ExternalDocumentation 
description (	Rdescription
url (	Rurl"
JSON
raw (Rraw"¶
JSONSchemaProps
id (	Rid
schema (	Rschema
ref (	Rref 
description (	Rdescription
type (	Rtype
format (	Rformat
title (	RtitleX
default (2>.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONRdefault
maximum	 (Rmaximum*
exclusiveMaximum
 (RexclusiveMaximum
minimum (Rminimum*
exclusiveMinimum (RexclusiveMinimum
	maxLength (R	maxLength
	minLength (R	minLength
pattern (	Rpattern
maxItems (RmaxItems
minItems (RminItems 
uniqueItems (RuniqueItems

multipleOf (R
multipleOfR
enum (2>.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONRenum$
maxProperties (RmaxProperties$
minProperties (RminProperties
required (	Rrequiredf
items (2P.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrArrayRitems_
allOf (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRallOf_
oneOf (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRoneOf_
anyOf (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRanyOf[
not (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRnoty

properties (2Y.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.PropertiesEntryR
propertiesÉ
additionalProperties (2O.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBoolRadditionalPropertiesé
patternProperties (2`.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.PatternPropertiesEntryRpatternProperties
dependencies  (2[.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.DependenciesEntryRdependenciesy
additionalItems! (2O.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrBoolRadditionalItems|
definitions" (2Z.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps.DefinitionsEntryRdefinitionss
externalDocs# (2O.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ExternalDocumentationRexternalDocsX
example$ (2>.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONRexample
nullable% (RnullableJ
 xKubernetesPreserveUnknownFields& (R xKubernetesPreserveUnknownFields@
xKubernetesEmbeddedResource' (RxKubernetesEmbeddedResource6
xKubernetesIntOrString( (RxKubernetesIntOrString6
xKubernetesListMapKeys) (	RxKubernetesListMapKeys0
xKubernetesListType* (	RxKubernetesListType.
xKubernetesMapType+ (	RxKubernetesMapTypeÄ
xKubernetesValidations, (2H.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ValidationRuleRxKubernetesValidationsà
PropertiesEntry
key (	Rkey_
value (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRvalue:8è
PatternPropertiesEntry
key (	Rkey_
value (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRvalue:8ó
DependenciesEntry
key (	Rkeyl
value (2V.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsOrStringArrayRvalue:8â
DefinitionsEntry
key (	Rkey_
value (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRvalue:8"Ë
JSONSchemaPropsOrArraya
schema (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRschemak
jSONSchemas (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRjSONSchemas"í
JSONSchemaPropsOrBool
allows (Rallowsa
schema (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRschema"ù
JSONSchemaPropsOrStringArraya
schema (2I.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.JSONSchemaPropsRschema
property (	Rproperty"-
SelectableField
jsonPath (	RjsonPath"l
ServiceReference
	namespace (	R	namespace
name (	Rname
path (	Rpath
port (Rport"Ã
ValidationRule
rule (	Rrule
message (	Rmessage,
messageExpression (	RmessageExpression
reason (	Rreason
	fieldPath (	R	fieldPath(
optionalOldSelf (RoptionalOldSelf"©
WebhookClientConfig
url (	Rurld
service (2J.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.ServiceReferenceRservice
caBundle (RcaBundle"¬
WebhookConversionq
clientConfig (2M.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.WebhookClientConfigRclientConfig:
conversionReviewVersions (	RconversionReviewVersionsB:Z8k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1
öM
Mk8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1/generated.proto=k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ú
ConversionRequest
uid (	Ruid,
desiredAPIVersion (	RdesiredAPIVersionG
objects (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRobjects"«
ConversionResponse
uid (	RuidY
convertedObjects (2-.k8s.io.apimachinery.pkg.runtime.RawExtensionRconvertedObjectsD
result (2,.k8s.io.apimachinery.pkg.apis.meta.v1.StatusRresult"Ì
ConversionReviewj
request (2P.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ConversionRequestRrequestm
response (2Q.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ConversionResponseRresponse"∫
CustomResourceColumnDefinition
name (	Rname
type (	Rtype
format (	Rformat 
description (	Rdescription
priority (Rpriority
JSONPath (	RJSONPath"˘
CustomResourceConversion
strategy (	RstrategyÑ
webhookClientConfig (2R.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.WebhookClientConfigRwebhookClientConfig:
conversionReviewVersions (	RconversionReviewVersions"–
CustomResourceDefinitionL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadatao
spec (2[.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionSpecRspecu
status (2].k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionStatusRstatus"ç
!CustomResourceDefinitionCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage.
observedGeneration (RobservedGeneration"Ÿ
CustomResourceDefinitionListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadatam
items (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionRitems"√
CustomResourceDefinitionNames
plural (	Rplural
singular (	Rsingular

shortNames (	R
shortNames
kind (	Rkind
listKind (	RlistKind

categories (	R
categories"ì
CustomResourceDefinitionSpec
group (	Rgroup
version (	Rversionr
names (2\.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionNamesRnames
scope (	Rscopew

validation (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceValidationR
validation}
subresources (2Y.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceSubresourcesRsubresourcesz
versions (2^.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionVersionRversionsô
additionalPrinterColumns (2].k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceColumnDefinitionRadditionalPrinterColumnsz
selectableFields (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.SelectableFieldRselectableFieldsw

conversion	 (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceConversionR
conversion4
preserveUnknownFields
 (RpreserveUnknownFields"Ä
CustomResourceDefinitionStatusÄ

conditions (2`.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionConditionR
conditionsÇ
acceptedNames (2\.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceDefinitionNamesRacceptedNames&
storedVersions (	RstoredVersions.
observedGeneration (RobservedGeneration"ø
CustomResourceDefinitionVersion
name (	Rname
served (Rserved
storage (Rstorage

deprecated (R
deprecated.
deprecationWarning (	RdeprecationWarningo
schema (2W.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceValidationRschema}
subresources (2Y.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceSubresourcesRsubresourcesô
additionalPrinterColumns (2].k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceColumnDefinitionRadditionalPrinterColumnsz
selectableFields	 (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.SelectableFieldRselectableFields"™
CustomResourceSubresourceScale*
specReplicasPath (	RspecReplicasPath.
statusReplicasPath (	RstatusReplicasPath,
labelSelectorPath (	RlabelSelectorPath"!
CustomResourceSubresourceStatus"â
CustomResourceSubresourcesv
status (2^.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceSubresourceStatusRstatuss
scale (2].k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.CustomResourceSubresourceScaleRscale"î
CustomResourceValidationx
openAPIV3Schema (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRopenAPIV3Schema"K
ExternalDocumentation 
description (	Rdescription
url (	Rurl"
JSON
raw (Rraw"å
JSONSchemaProps
id (	Rid
schema (	Rschema
ref (	Rref 
description (	Rdescription
type (	Rtype
format (	Rformat
title (	Rtitle]
default (2C.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONRdefault
maximum	 (Rmaximum*
exclusiveMaximum
 (RexclusiveMaximum
minimum (Rminimum*
exclusiveMinimum (RexclusiveMinimum
	maxLength (R	maxLength
	minLength (R	minLength
pattern (	Rpattern
maxItems (RmaxItems
minItems (RminItems 
uniqueItems (RuniqueItems

multipleOf (R
multipleOfW
enum (2C.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONRenum$
maxProperties (RmaxProperties$
minProperties (RminProperties
required (	Rrequiredk
items (2U.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrArrayRitemsd
allOf (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRallOfd
oneOf (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRoneOfd
anyOf (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRanyOf`
not (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRnot~

properties (2^.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaProps.PropertiesEntryR
propertiesà
additionalProperties (2T.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrBoolRadditionalPropertiesì
patternProperties (2e.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaProps.PatternPropertiesEntryRpatternPropertiesÑ
dependencies  (2`.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaProps.DependenciesEntryRdependencies~
additionalItems! (2T.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrBoolRadditionalItemsÅ
definitions" (2_.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaProps.DefinitionsEntryRdefinitionsx
externalDocs# (2T.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ExternalDocumentationRexternalDocs]
example$ (2C.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONRexample
nullable% (RnullableJ
 xKubernetesPreserveUnknownFields& (R xKubernetesPreserveUnknownFields@
xKubernetesEmbeddedResource' (RxKubernetesEmbeddedResource6
xKubernetesIntOrString( (RxKubernetesIntOrString6
xKubernetesListMapKeys) (	RxKubernetesListMapKeys0
xKubernetesListType* (	RxKubernetesListType.
xKubernetesMapType+ (	RxKubernetesMapTypeÖ
xKubernetesValidations, (2M.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ValidationRuleRxKubernetesValidationsç
PropertiesEntry
key (	Rkeyd
value (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRvalue:8î
PatternPropertiesEntry
key (	Rkeyd
value (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRvalue:8ú
DependenciesEntry
key (	Rkeyq
value (2[.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsOrStringArrayRvalue:8é
DefinitionsEntry
key (	Rkeyd
value (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRvalue:8"Ú
JSONSchemaPropsOrArrayf
schema (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRschemap
jSONSchemas (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRjSONSchemas"ó
JSONSchemaPropsOrBool
allows (Rallowsf
schema (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRschema"¢
JSONSchemaPropsOrStringArrayf
schema (2N.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.JSONSchemaPropsRschema
property (	Rproperty"-
SelectableField
jsonPath (	RjsonPath"l
ServiceReference
	namespace (	R	namespace
name (	Rname
path (	Rpath
port (Rport"Ã
ValidationRule
rule (	Rrule
message (	Rmessage,
messageExpression (	RmessageExpression
reason (	Rreason
	fieldPath (	R	fieldPath(
optionalOldSelf (RoptionalOldSelf"Æ
WebhookClientConfig
url (	Rurli
service (2O.k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1beta1.ServiceReferenceRservice
caBundle (RcaBundleB?Z=k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1beta1
æ
9k8s.io/apimachinery/pkg/apis/meta/v1beta1/generated.proto)k8s.io.apimachinery.pkg.apis.meta.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"∫
PartialObjectMetadataListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataQ
items (2;.k8s.io.apimachinery.pkg.apis.meta.v1.PartialObjectMetadataRitemsB+Z)k8s.io/apimachinery/pkg/apis/meta/v1beta1
ë
Bk8s.io/kube-aggregator/pkg/apis/apiregistration/v1/generated.proto2k8s.io.kube_aggregator.pkg.apis.apiregistration.v14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ê

APIServiceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadataV
spec (2B.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIServiceSpecRspec\
status (2D.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIServiceStatusRstatus"œ
APIServiceCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"≤
APIServiceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataT
items (2>.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIServiceRitems"–
APIServiceSpec^
service (2D.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.ServiceReferenceRservice
group (	Rgroup
version (	Rversion4
insecureSkipTLSVerify (RinsecureSkipTLSVerify
caBundle (RcaBundle2
groupPriorityMinimum (RgroupPriorityMinimum(
versionPriority (RversionPriority"{
APIServiceStatusg

conditions (2G.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1.APIServiceConditionR
conditions"X
ServiceReference
	namespace (	R	namespace
name (	Rname
port (RportB4Z2k8s.io/kube-aggregator/pkg/apis/apiregistration/v1
∫
Gk8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1/generated.proto7k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta14k8s.io/apimachinery/pkg/apis/meta/v1/generated.proto/k8s.io/apimachinery/pkg/runtime/generated.proto6k8s.io/apimachinery/pkg/runtime/schema/generated.proto"ö

APIServiceL
metadata (20.k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMetaRmetadata[
spec (2G.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta1.APIServiceSpecRspeca
status (2I.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta1.APIServiceStatusRstatus"œ
APIServiceCondition
type (	Rtype
status (	RstatusZ
lastTransitionTime (2*.k8s.io.apimachinery.pkg.apis.meta.v1.TimeRlastTransitionTime
reason (	Rreason
message (	Rmessage"∑
APIServiceListJ
metadata (2..k8s.io.apimachinery.pkg.apis.meta.v1.ListMetaRmetadataY
items (2C.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta1.APIServiceRitems"’
APIServiceSpecc
service (2I.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta1.ServiceReferenceRservice
group (	Rgroup
version (	Rversion4
insecureSkipTLSVerify (RinsecureSkipTLSVerify
caBundle (RcaBundle2
groupPriorityMinimum (RgroupPriorityMinimum(
versionPriority (RversionPriority"Ä
APIServiceStatusl

conditions (2L.k8s.io.kube_aggregator.pkg.apis.apiregistration.v1beta1.APIServiceConditionR
conditions"X
ServiceReference
	namespace (	R	namespace
name (	Rname
port (RportB9Z7k8s.io/kube-aggregator/pkg/apis/apiregistration/v1beta1